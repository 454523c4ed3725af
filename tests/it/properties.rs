//! Property tests (proptest) of the input parsers: the duration, the
//! `--statement` JSON, the `Host` header, scope names and the config file. They run 256 cases each in CI;
//! `PROPTEST_CASES=100000 cargo test --test it properties` runs them longer.

use proptest::prelude::*;
use s3_credentials::duration::{DurationError, SessionDuration, MAX_SECS, MIN_SECS};
use s3_credentials::policy::Statement;
use s3_credentials::scope::{CommandLine, Scopes};
use s3_credentials::server::host_allowed;

proptest! {
    /// Never panics; whatever it accepts is within STS's bounds.
    #[test]
    fn duration_parsing_is_total_and_bounded(s in "\\PC{0,24}") {
        if let Ok(d) = s.parse::<SessionDuration>() {
            prop_assert!((MIN_SECS..=MAX_SECS).contains(&d.secs()));
        }
    }

    /// Every number with every unit parses to exactly what it says.
    #[test]
    fn durations_mean_what_they_say(n in 0u64..100_000, unit in prop::sample::select(vec!["", "s", "m", "h"])) {
        let secs = n * match unit { "m" => 60, "h" => 3600, _ => 1 };
        let parsed = format!("{n}{unit}").parse::<SessionDuration>();
        if (u64::from(MIN_SECS)..=u64::from(MAX_SECS)).contains(&secs) {
            prop_assert_eq!(parsed.map(|d| u64::from(d.secs())), Ok(secs));
        } else {
            prop_assert_eq!(parsed, Err(DurationError::Bounds));
        }
    }

    /// Never panics on any text.
    #[test]
    fn statement_parsing_is_total(s in "\\PC{0,64}") {
        let _ = s.parse::<Statement>();
    }

    /// Any object with the three keys is accepted and kept verbatim;
    /// without one of them it is refused, naming what is missing.
    #[test]
    fn statements_need_the_three_keys(
        extra in prop::collection::btree_map("[A-Za-z]{1,8}", "[a-z:*]{0,8}", 0..4),
        drop in prop::option::of(prop::sample::select(vec!["Action", "Effect", "Resource"])),
    ) {
        let mut object = serde_json::Map::new();
        for (k, v) in &extra {
            object.insert(k.clone(), v.clone().into());
        }
        for key in ["Effect", "Action", "Resource"] {
            if Some(key) != drop {
                object.insert(key.into(), "x".into());
            }
        }
        let text = serde_json::Value::Object(object).to_string();
        match (text.parse::<Statement>(), drop) {
            (Ok(_), None) => {}
            (Err(e), Some(key)) => prop_assert!(e.contains(key), "{e}"),
            (other, _) => prop_assert!(false, "{text}: {other:?}"),
        }
    }

    /// Never panics on any bytes.
    #[test]
    fn host_checking_is_total(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = host_allowed(&bytes, "myhost");
    }

    /// IP literals and localhost, with any port, are always allowed.
    #[test]
    fn loopback_hosts_are_allowed(ip in any::<std::net::Ipv4Addr>(), v6 in any::<std::net::Ipv6Addr>(), port in any::<u16>()) {
        let ip_port = format!("{ip}:{port}");
        let v6_port = format!("[{v6}]:{port}");
        let localhost = format!("localhost:{port}");
        prop_assert!(host_allowed(ip_port.as_bytes(), ""));
        prop_assert!(host_allowed(v6_port.as_bytes(), ""));
        prop_assert!(host_allowed(localhost.as_bytes(), ""));
    }

    /// Any other name is refused: the DNS rebinding guard.
    #[test]
    fn other_names_are_refused(name in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6}){1,3}", port in prop::option::of(any::<u16>())) {
        let host = match port {
            Some(p) => format!("{name}:{p}"),
            None => name.clone(),
        };
        prop_assert!(!host_allowed(host.as_bytes(), "myhost"), "{host}");
    }
}

proptest! {
    /// Scope names: accepted exactly when they match
    /// `[a-z0-9][a-z0-9_-]{0,62}`; anything else is refused, never a panic.
    #[test]
    fn scope_names_follow_the_rule(s in "\\PC{0,70}|[a-z0-9][a-z0-9_-]{0,70}") {
        let bytes = s.as_bytes();
        let expected = !bytes.is_empty()
            && bytes.len() <= 63
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-');
        prop_assert_eq!(s3_credentials::scope::check_scope_name(&s).is_ok(), expected);
    }

    /// The config parser never panics, whatever the text; its errors are
    /// one line.
    #[test]
    fn config_parsing_is_total(s in "\\PC{0,200}") {
        if let Err(e) = Scopes::parse(&s, &CommandLine::default()) {
            prop_assert!(!e.to_string().contains('\n'));
        }
    }

    /// Nor on text shaped like a config, with the keys in any order and
    /// values of any type; what it accepts has every scope it declared.
    #[test]
    fn config_like_text_never_panics(
        entries in prop::collection::vec(
            (
                prop::sample::select(vec!["buckets", "prefix", "access", "statements", "duration", "role_arn", "x"]),
                prop::sample::select(vec![
                    "[\"b1\"]", "[]", "\"read-only\"", "\"rw\"", "900", "\"1h\"", "-1",
                    "\"arn:aws:iam::1:role/r\"", "[{Effect=\"Allow\",Action=\"s3:*\",Resource=\"*\"}]",
                    "[{Effect=1}]", "{}", "true", "\"*\"",
                ]),
            ),
            0..8,
        ),
        name in "[a-z0-9_-]{1,8}|[A-Z.]{1,3}",
    ) {
        let mut text = format!("[scope.{name}]\n");
        for (key, value) in &entries {
            text.push_str(&format!("{key} = {value}\n"));
        }
        let cli = CommandLine {
            duration: Some("1h".parse().unwrap()),
            ..CommandLine::default()
        };
        match Scopes::parse(&text, &cli) {
            Ok(scopes) => prop_assert!(scopes.by_name.contains_key(name.as_str())),
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{}", e),
        }
    }
}
