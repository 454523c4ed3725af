use super::*;
use proptest::prelude::*;

fn caller(user: &str, program: &str) -> Caller {
    Caller {
        user: user.into(),
        program: program.into(),
    }
}

/// STS's `SourceIdentity` rule (the STS API reference, `AssumeRole`), as
/// Java reads `\w`: ASCII letters, digits and `_`.
fn sts_takes_identity(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        && !s.to_ascii_lowercase().starts_with("aws:")
}

#[test]
fn source_identity_is_user_at_host_within_sts_rules() {
    assert_eq!(source_identity("alice", "laptop"), "alice@laptop");
    assert_eq!(source_identity("a l:ice", "lap/top"), "a-l-ice@lap-top");
    assert_eq!(source_identity("aws:x", "h"), "aws-x@h");
    // The shortest STS takes is 2 characters.
    assert_eq!(source_identity("", ""), "@-");
    let long = source_identity(&"u".repeat(70), "h");
    assert_eq!(long.len(), 64);
}

#[test]
fn tag_values_keep_what_sts_takes_by_general_category() {
    // Letters, numbers (a letter number too), separators, the punctuation.
    let kept = "José Ⅻ ١٢\u{a0}\u{2028}a_.:/=+-@Z";
    assert_eq!(tag_value(kept), kept);
    // A spacing mark is alphabetic to Rust but no letter to STS; so is a
    // circled letter (a symbol); a newline, `*`, an emoji and U+FFFD are
    // none of the categories.
    assert!('\u{93f}'.is_alphanumeric() && 'Ⓐ'.is_alphanumeric());
    assert_eq!(tag_value("कि"), "क-");
    assert_eq!(tag_value("Ⓐ\n*😀\u{fffd}"), "-----");
    // 256 UTF-16 units at most: a letter outside the BMP counts twice.
    assert_eq!(tag_value(&"x".repeat(300)), "x".repeat(256));
    let wide = "𝐀".repeat(200);
    assert_eq!(tag_value(&wide).chars().count(), 128);
}

#[test]
fn tags_name_scope_user_program_and_host() {
    let tags = tags("reports", &caller("alice", "my*tool"), "laptop");
    let pairs: Vec<(&str, &str)> = tags.iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(
        pairs,
        [
            ("s3c-scope", "reports"),
            ("s3c-user", "alice"),
            ("s3c-program", "my-tool"),
            ("s3c-host", "laptop"),
        ]
    );
}

#[test]
fn an_attributed_assume_role_carries_the_identity_and_the_tags() {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version_latest()
            .build(),
    );
    let call = attributed(sts.assume_role(), "reports", &caller("alice", "python3"));
    let input = call.as_input();
    let host = hostname();
    assert_eq!(
        input.get_source_identity().as_deref(),
        Some(source_identity("alice", &host).as_str())
    );
    let keys: Vec<&str> = input.get_tags().iter().flatten().map(|t| t.key()).collect();
    assert_eq!(keys, TAG_KEYS);
}

proptest! {
    #[test]
    fn any_user_and_host_make_an_identity_sts_takes(user in ".{0,80}", host in ".{0,80}") {
        let identity = source_identity(&user, &host);
        prop_assert!(sts_takes_identity(&identity), "{:?}", identity);
    }

    #[test]
    fn any_value_becomes_one_sts_takes_char_for_char(value in ".{0,300}") {
        let made = tag_value(&value);
        prop_assert!(made.encode_utf16().count() <= MAX_TAG_VALUE);
        prop_assert!(made.chars().count() <= MAX_TAG_VALUE);
        // Each character is kept or replaced in place, and what is kept
        // stays: making it again changes nothing.
        for (was, is) in value.chars().zip(made.chars()) {
            prop_assert!(was == is || is == '-', "{:?} became {:?}", was, is);
        }
        prop_assert_eq!(tag_value(&made), made.clone());
        for c in made.chars().filter(char::is_ascii) {
            prop_assert!(c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c), "{:?}", c);
        }
    }
}
