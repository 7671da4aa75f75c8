//! HTML building blocks: escaping, links, Markdown without raw HTML, JSON trees, numbers.

use std::fmt::Write as _;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};
use serde_json::Value;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `path?k=v&…` with every value form-encoded (the result still needs [`esc`] in HTML).
pub fn url(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        ser.append_pair(k, v);
    }
    format!("{path}?{}", ser.finish())
}

/// An `<a>` whose href and text are escaped.
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", esc(href), esc(text))
}

/// Markdown to HTML. Raw HTML in the source is shown as text, never as markup; links and images
/// keep only http(s), mailto, fragment and relative destinations (no `javascript:`).
pub fn markdown(text: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::HtmlBlock) => {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced("html".into())))
        }
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::CodeBlock),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme_end = lower.find(':');
    let first_separator = lower.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, first_separator) {
        (Some(c), Some(s)) => c < s,
        (Some(_), None) => true,
        _ => false,
    };
    let allowed = !has_scheme
        || lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:");
    if allowed { url } else { "#".into() }
}

/// A JSON value as nested `<details>`: objects and arrays collapse; the first `open_depth`
/// levels start open.
pub fn json_tree(value: &Value, open_depth: usize) -> String {
    let mut out = String::from("<div class=\"json-tree\">");
    tree_node(&mut out, None, value, 0, open_depth);
    out.push_str("</div>");
    out
}

fn tree_node(out: &mut String, label: Option<&str>, value: &Value, depth: usize, open: usize) {
    let label_html = label
        .map(|l| format!("<span class=\"json-key\">{}</span>: ", esc(l)))
        .unwrap_or_default();
    let (children, brackets): (Vec<(String, &Value)>, (&str, &str)) = match value {
        Value::Object(map) => (
            map.iter().map(|(k, v)| (k.clone(), v)).collect(),
            ("{", "}"),
        ),
        Value::Array(items) => (
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            ("[", "]"),
        ),
        leaf => {
            let class = match leaf {
                Value::Number(_) => "json-number",
                Value::String(_) => "json-string",
                Value::Bool(_) => "json-bool",
                _ => "json-null",
            };
            let _ = write!(
                out,
                "<div class=\"json-leaf\">{label_html}<span class=\"{class}\">{}</span></div>",
                esc(&leaf.to_string())
            );
            return;
        }
    };
    let _ = write!(
        out,
        "<details{}><summary>{label_html}<span class=\"json-bracket\">{}{}{}</span></summary>",
        if depth < open { " open" } else { "" },
        brackets.0,
        children.len(),
        brackets.1,
    );
    for (k, v) in &children {
        tree_node(out, Some(k), v, depth + 1, open);
    }
    out.push_str("</details>");
}

/// A number for people: up to 4 significant digits after the point, no trailing zeros.
pub fn num(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    let text = if magnitude >= 1000.0 || magnitude == 0.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.3}")
    } else {
        format!("{value:.4}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" { "0".to_owned() } else { text }
}

/// A relative change as a signed percentage.
pub fn percent(relative: Option<f64>) -> String {
    match relative {
        Some(r) => format!("{:+.1}%", r * 100.0),
        None => "n/a".to_owned(),
    }
}

/// Bytes for people (KiB, MiB).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn markdown_renders_but_never_passes_raw_html() {
        let html = markdown(
            "# Title\n\n*em* <b>bold</b>\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](https://example.com) [z](../rel)",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>em</em>"), "{html}");
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        assert!(html.contains("href=\"../rel\""), "{html}");
    }

    #[test]
    fn json_tree_escapes_keys_and_values() {
        let html = json_tree(&serde_json::json!({"<k>": ["<v>", 1.5, null]}), 1);
        assert!(
            html.contains("&lt;k&gt;") && html.contains("&lt;v&gt;"),
            "{html}"
        );
        assert!(!html.contains("<k>") && !html.contains("<v>"));
        assert!(html.contains("<details open>"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(12.34567), "12.346");
        assert_eq!(num(0.000123), "0.0001");
        assert_eq!(num(15000.0), "15000");
        assert_eq!(percent(Some(0.305)), "+30.5%");
        assert_eq!(bytes(2048), "2.0 KiB");
    }
}
