//! Property tests (proptest) of the input parsers: the duration, the
//! `--statement` JSON and the `Host` header. They run 256 cases each in CI;
//! `PROPTEST_CASES=100000 cargo test --test it properties` runs them longer.

use proptest::prelude::*;
use s3_credentials::duration::{DurationError, SessionDuration, MAX_SECS, MIN_SECS};
use s3_credentials::policy::Statement;
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
