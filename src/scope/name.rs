//! The scope-name rule: what a `[scope.NAME]` may be called, checked where
//! a name is declared (the config file, `--scope`) and where one is asked
//! for (`/scope/NAME`), so a name is always safe in a path, a log line and
//! a metrics label.

/// A scope name, as it may appear in a path: `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn check_scope_name(name: &str) -> Result<(), &'static str> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok =
        bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    match first_ok && rest_ok && name.len() <= 63 {
        true => Ok(()),
        false => Err(
            "a scope name is a-z, 0-9, '_' and '-', starts with a letter or digit, \
                      and has at most 63 characters (e.g. prod-data)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_words_of_at_most_63_characters() {
        for good in ["a", "prod-data", "0_x", &"a".repeat(63)] {
            assert_eq!(check_scope_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "-a",
            "_a",
            "A",
            "a/b",
            "a.b",
            "..",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(check_scope_name(bad).is_err(), "{bad}");
        }
    }
}
