//! Storage paths of the reference's layout (spec §4), built exactly as its `memory_fs` path
//! handlers and `url_join_safe` build them.

use cache_wire::ids::{DataType, Strategy};

/// `refs/by-id`, below the namespace.
pub const REFS_BY_ID: &str = "refs/by-id";
/// `refs/by-hash`, below the namespace.
pub const REFS_BY_HASH: &str = "refs/by-hash";

/// Joins non-empty segments with `/` (`Path__Handler.combine_paths`).
pub fn join<'a>(segments: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for segment in segments.into_iter().filter(|s| !s.is_empty()) {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(segment);
    }
    out
}

/// `{ns}/{base}`, or just `base` for an empty namespace (`Cache__Handler.build_namespaced_path`).
pub fn namespaced(namespace: &str, base: &str) -> String {
    join([namespace, base])
}

/// `ab/cd` from `abcdef…` (`Path__Handler__Hash_Sharded`, depth 2, size 2); shorter ids give
/// fewer or shorter shards.
pub fn shards(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let mut parts = Vec::new();
    for level in 0..2 {
        let start = level * 2;
        if start < chars.len() {
            let end = (start + 2).min(chars.len());
            parts.push(chars[start..end].iter().collect::<String>());
        }
    }
    parts.join("/")
}

/// The by-id reference file of `cache_id`.
pub fn ref_by_id(namespace: &str, cache_id: &str) -> String {
    let folder = join([
        namespaced(namespace, REFS_BY_ID).as_str(),
        &shards(cache_id),
    ]);
    file_in(&folder, &format!("{cache_id}.json"))
}

/// The by-hash reference file of `cache_hash`.
pub fn ref_by_hash(namespace: &str, cache_hash: &str) -> String {
    let folder = join([
        namespaced(namespace, REFS_BY_HASH).as_str(),
        &shards(cache_hash),
    ]);
    file_in(&folder, &format!("{cache_hash}.json"))
}

/// `os.path.join(folder, name)` for the relative folders used here.
pub fn file_in(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else if folder.ends_with('/') {
        format!("{folder}{name}")
    } else {
        format!("{folder}/{name}")
    }
}

/// The folder of every copy of a content file, in the order of the strategy's path handlers.
///
/// `hour_path` is the server's local time as `YYYY/MM/DD/HH`; `cache_key` is only used by
/// `key_based` (an empty key puts the file directly in `data/key-based`).
pub fn content_folders(
    namespace: &str,
    strategy: Strategy,
    file_id: &str,
    cache_key: &str,
    hour_path: &str,
) -> Vec<String> {
    let data = |base: &str| namespaced(namespace, base);
    match strategy {
        Strategy::Direct => vec![join([data("data/direct").as_str(), &shards(file_id)])],
        Strategy::Temporal => vec![join([data("data/temporal").as_str(), hour_path])],
        Strategy::TemporalLatest => {
            let base = data("data/temporal-latest");
            vec![
                join([base.as_str(), "latest"]),
                join([base.as_str(), hour_path]),
            ]
        }
        Strategy::TemporalVersioned => {
            let base = data("data/temporal-versioned");
            vec![
                join([base.as_str(), hour_path]),
                join([base.as_str(), "latest"]),
                // The reference never increments the version.
                join([data("data/temporal-versioned/versions").as_str(), "v1"]),
            ]
        }
        Strategy::KeyBased => vec![join([data("data/key-based").as_str(), cache_key])],
    }
}

/// The child-data folder of a content file: `{path without extension}/data`
/// (`File_FS__Paths.paths__data_folders`).
pub fn data_folder(content_path: &str) -> String {
    let (stem, _ext) = split_ext(content_path);
    url_join_safe(stem, "data").unwrap_or_else(|| format!("{stem}/data"))
}

/// `os.path.splitext` for `/`-separated paths.
pub fn split_ext(path: &str) -> (&str, &str) {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[name_start..];
    // Leading dots of the file name do not start an extension.
    let leading_dots = name.len() - name.trim_start_matches('.').len();
    match name[leading_dots..].rfind('.') {
        Some(i) => path.split_at(name_start + leading_dots + i),
        None => (path, ""),
    }
}

/// The extension of a child data file of this type (`Cache__Service__Data__Store`).
pub fn data_extension(data_type: DataType) -> &'static str {
    match data_type {
        DataType::Json => "json",
        DataType::String => "txt",
        DataType::Binary => "bin",
        DataType::TypeSafe => "data",
    }
}

/// The type a child data file's extension implies (`get_type_from_extension`).
pub fn data_type_of_extension(extension: &str) -> DataType {
    match extension {
        "json" => DataType::Json,
        "txt" => DataType::String,
        _ => DataType::Binary,
    }
}

/// The path of a child data file in one data folder:
/// `url_join_safe(url_join_safe(folder, data_key), data_file_id) + "." + ext`.
pub fn data_file(folder: &str, data_key: &str, data_file_id: &str, extension: &str) -> String {
    let mut path = folder.to_owned();
    if !data_key.is_empty() {
        path = url_join_safe(&path, data_key).unwrap_or_else(|| "None".to_owned());
    }
    let path = url_join_safe(&path, data_file_id).unwrap_or_else(|| "None".to_owned());
    format!("{path}.{extension}")
}

/// The folder below a data folder that a `data_key` selects (`url_join_safe(folder, key)`).
pub fn data_key_folder(folder: &str, data_key: &str) -> String {
    if data_key.is_empty() {
        folder.to_owned()
    } else {
        url_join_safe(folder, data_key).unwrap_or_else(|| "None".to_owned())
    }
}

/// osbot-utils `url_join_safe(base, path)` for the inputs this service passes: each segment
/// of `path` has runs of characters outside `[a-zA-Z0-9\-_.]` replaced by `-` and `..`
/// replaced by `-`, empty segments are dropped, and the result is joined to `base` with
/// `urljoin`'s dot-segment resolution. `None` where the reference returns `None` (a result
/// that escapes `base`).
pub fn url_join_safe(base: &str, path: &str) -> Option<String> {
    let cleaned: Vec<String> = path
        .split('/')
        .map(clean_segment)
        .filter(|s| !s.is_empty())
        .collect();
    let base = if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    };
    let joined = urljoin_relative(&base, &cleaned.join("/"));
    if !joined.starts_with(&base) {
        return None;
    }
    Some(joined.strip_suffix('/').unwrap_or(&joined).to_owned())
}

/// One segment of `url_join_safe`: `re.sub(r'[^a-zA-Z0-9\-_.]+', '-', s).replace('..', '-')`.
fn clean_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let mut in_run = false;
    for c in segment.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.replace("..", "-")
}

/// `urllib.parse.urljoin(base, path)` for a scheme-less `base` ending in `/` and a relative
/// `path`: base segments plus path segments, inner empty segments removed, `.` dropped, `..`
/// popping.
fn urljoin_relative(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_owned();
    }
    let mut segments: Vec<&str> = base.split('/').collect();
    // `base` ends with '/', so its last element is "" and is kept, then replaced by `path`.
    segments.pop();
    segments.extend(path.split('/'));
    let last = segments.len().saturating_sub(1);
    let mut filtered: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        if i == 0 || i == last || !seg.is_empty() {
            filtered.push(seg);
        }
    }
    let mut resolved: Vec<&str> = Vec::with_capacity(filtered.len());
    for seg in &filtered {
        match *seg {
            ".." => {
                resolved.pop();
            }
            "." => {}
            other => resolved.push(other),
        }
    }
    if matches!(filtered.last(), Some(&".") | Some(&"..")) {
        resolved.push("");
    }
    resolved.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharding_and_refs() {
        assert_eq!(shards("58954ab6bb1eca61"), "58/95");
        assert_eq!(shards("x"), "x");
        assert_eq!(shards("abc"), "ab/c");
        assert_eq!(
            ref_by_hash("demo", "58954ab6bb1eca61"),
            "demo/refs/by-hash/58/95/58954ab6bb1eca61.json"
        );
        assert_eq!(
            ref_by_id("", "cfa77875-aaaa"),
            "refs/by-id/cf/a7/cfa77875-aaaa.json"
        );
    }

    #[test]
    fn strategy_folders_follow_handler_order() {
        let h = "2026/01/02/03";
        assert_eq!(
            content_folders("demo", Strategy::Direct, "myid", "ignored", h),
            vec!["demo/data/direct/my/id"]
        );
        assert_eq!(
            content_folders("demo", Strategy::TemporalLatest, "f", "", h),
            vec![
                "demo/data/temporal-latest/latest",
                "demo/data/temporal-latest/2026/01/02/03"
            ]
        );
        assert_eq!(
            content_folders("demo", Strategy::TemporalVersioned, "f", "", h),
            vec![
                "demo/data/temporal-versioned/2026/01/02/03",
                "demo/data/temporal-versioned/latest",
                "demo/data/temporal-versioned/versions/v1"
            ]
        );
        assert_eq!(
            content_folders("demo", Strategy::KeyBased, "f", "users/alice", h),
            vec!["demo/data/key-based/users/alice"]
        );
        assert_eq!(
            content_folders("demo", Strategy::KeyBased, "f", "", h),
            vec!["demo/data/key-based"]
        );
    }

    #[test]
    fn data_paths_match_the_reference() {
        let content = "demo/data/key-based/users/alice/profile.json";
        let folder = data_folder(content);
        assert_eq!(folder, "demo/data/key-based/users/alice/profile/data");
        assert_eq!(
            data_file(&folder, "analysis", "summary", "json"),
            "demo/data/key-based/users/alice/profile/data/analysis/summary.json"
        );
        // Observed on the reference: `a b/c..d/x` → `a-b/c-d/x`.
        assert_eq!(
            data_file(&folder, "a b/c..d/x", "y", "json"),
            "demo/data/key-based/users/alice/profile/data/a-b/c-d/x/y.json"
        );
        assert_eq!(
            data_file(&folder, "", "notes", "txt"),
            format!("{folder}/notes.txt")
        );
        assert_eq!(
            data_file(&folder, "./a/.", "n", "txt"),
            format!("{folder}/a/n.txt")
        );
        assert_eq!(
            data_file(&folder, "/", "n", "bin"),
            format!("{folder}/n.bin")
        );
        assert_eq!(
            data_file(&folder, " / ", "n", "bin"),
            format!("{folder}/-/-/n.bin")
        );
        assert_eq!(data_key_folder(&folder, "x\\y"), format!("{folder}/x-y"));
        assert_eq!(
            data_file(&folder, "...", "n", "bin"),
            format!("{folder}/-./n.bin")
        );
    }

    #[test]
    fn split_ext_like_os_path() {
        assert_eq!(split_ext("a.b/c.json"), ("a.b/c", ".json"));
        assert_eq!(split_ext("a.b/c"), ("a.b/c", ""));
        assert_eq!(split_ext("a/.hidden"), ("a/.hidden", ""));
    }
}
