//! Counts in messages: "1 target", "2 targets".

/// `n` and the noun in the number it needs: `count(1, "target", "targets")` is "1 target".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(count(0, "target", "targets"), "0 targets");
        assert_eq!(count(1, "target", "targets"), "1 target");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
}
