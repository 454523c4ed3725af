//! Each text and what botocore 1.43 (`raw_config_parse`, then
//! `build_profile_map`) makes of it on Python 3.11's configparser.

use super::*;
use serde_json::{json, Value as Json};

/// The sections as JSON (`"BLOCK"` for a sub-section), or `"error"`.
fn read(text: &str) -> Json {
    let Ok(sections) = parse(text) else {
        return json!("error");
    };
    let mut out = serde_json::Map::new();
    for (name, keys) in sections {
        let keys: serde_json::Map<String, Json> = keys
            .into_iter()
            .map(|(k, v)| match v {
                Value::Text(text) => (k, json!(text)),
                Value::Block => (k, json!("BLOCK")),
            })
            .collect();
        out.insert(name, Json::Object(keys));
    }
    Json::Object(out)
}

#[test]
fn values_are_read_as_configparser_reads_them() {
    let cases = [
        (
            "[profile a]\ncredential_process = fetch --port 9 ; --scope x\n",
            json!({"profile a": {"credential_process": "fetch --port 9 ; --scope x"}}),
        ),
        (
            "[profile a]\ncredential_process = fetch --port 9 # note\n",
            json!({"profile a": {"credential_process": "fetch --port 9 # note"}}),
        ),
        (
            "[profile a]\n; a comment\n# another\n  # indented comment\ncredential_process=fetch\n",
            json!({"profile a": {"credential_process": "fetch"}}),
        ),
        (
            "[profile a]\nCredential_Process : fetch: a=b\n",
            json!({"profile a": {"credential_process": "fetch: a=b"}}),
        ),
        (
            "[profile a]\ncredential_process = fetch\n    --port 9\n\n    --scope x\n# c\n  --more\nregion = x\n",
            json!({"profile a": {"credential_process": "fetch\n--port 9\n\n--scope x\n--more", "region": "x"}}),
        ),
        (
            "[profile a]\ns3 =\n    addressing_style = path\ncredential_process = fetch\n",
            json!({"profile a": {"s3": "BLOCK", "credential_process": "fetch"}}),
        ),
        (
            "[DEFAULT]\ncredential_process = fetch --port 1\n[profile a]\n[profile b]\n\
             credential_process = other\n[DEFAULT]\nregion = r\n",
            json!({
                "profile a": {"credential_process": "fetch --port 1", "region": "r"},
                "profile b": {"credential_process": "other", "region": "r"},
            }),
        ),
        (
            "[default]\r\nx = 1\r\n  y\r[profile  b ]\rx=2\r\n",
            json!({"default": {"x": "1\ny"}, "profile  b ": {"x": "2"}}),
        ),
        (
            "  [profile a]\n  x = 1\n   y = 2\n",
            json!({"profile a": {"x": "1\ny = 2"}}),
        ),
        ("[profile a]\nx = 1\n\n\n  \n", json!({"profile a": {"x": "1"}})),
        ("[a] b]\nx = 1\n", json!({"a] b": {"x": "1"}})),
    ];
    for (text, expected) in cases {
        assert_eq!(read(text), expected, "{text:?}");
    }
}

#[test]
fn what_botocore_refuses_refuses_the_file() {
    for text in [
        "[profile a]\ncredential_process =\n    s3-credentials-fetch --port 9\n",
        "credential_process = fetch\n[profile a]\n",
        "[profile a]\nnot a key\n",
        "[profile a]\nx = 1\n[profile a]\ny = 2\n",
        "[profile a]\nx = 1\nX = 2\n",
        "\u{feff}[default]\nx = 1\n",
        "[profile a]\nx = 1\n[]\n",
        "[profile a]\n= x\n",
    ] {
        assert_eq!(read(text), json!("error"), "{text:?}");
    }
    let why = parse("[a]\nx = hunter2\nsecret hunter2\n").unwrap_err();
    assert_eq!(why, "line 3 is not a [section], a key = value or a comment");
}

#[test]
fn profiles_are_the_sections_botocore_takes_for_profiles() {
    let config = parse(
        "[profile a b]\nx = 1\n[profilex]\nx = 1\n[profile \"c d\"]\nx = 1\n\
         [profiles e]\nx=1\n[job]\ncredential_process = f\n[sso-session s]\nx=1\n\
         [profile default]\nx=2\n[profile k]\nx = 1\ncredential_process = f\n",
    )
    .unwrap();
    let credentials =
        parse("[k]\ncredential_process = g\naws_access_key_id = a\n[only]\nx = 3\n").unwrap();
    let found = Profiles::of(config, credentials);
    let names: Vec<&str> = found.list.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["c d", "e", "default", "k", "only"]);
    assert_eq!(found.not_profiles, ["job"]);
    let k = found.get("k").unwrap();
    // The credentials file's keys on top of the config file's.
    assert_eq!(
        (k.text("x"), k.text("credential_process")),
        (Some("1"), Some("g"))
    );
    assert!(k.file_keys && !found.get("c d").unwrap().file_keys);
}
