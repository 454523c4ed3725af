use super::*;

/// A trust policy with these statements, URL-encoded as IAM answers it.
fn encoded(statements: Value) -> String {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    doc.bytes()
        .map(
            |b| match b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                true => (b as char).to_string(),
                false => format!("%{b:02X}"),
            },
        )
        .collect()
}

fn allow(action: Value) -> Value {
    serde_json::json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": action})
}

#[test]
fn the_default_role_allows_what_attribution_needs() {
    let document = default_trust("123456789012").to_string();
    assert_eq!(missing(&document), Ok(vec![]));
    assert_eq!(
        default_trust("1")["Statement"][0]["Action"],
        serde_json::json!(["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"])
    );
}

#[test]
fn a_trust_policy_is_read_as_iam_reads_it() {
    let both = ["sts:SetSourceIdentity", "sts:TagSession"];
    let cases = [
        (allow("sts:AssumeRole".into()), both.to_vec()),
        (
            allow(serde_json::json!(["sts:AssumeRole", "sts:TagSession"])),
            vec!["sts:SetSourceIdentity"],
        ),
        (allow("sts:*".into()), vec![]),
        (allow("*".into()), vec![]),
        (
            allow(serde_json::json!(["STS:setsourceidentity", "sts:Tag*"])),
            vec![],
        ),
        // A single statement, not a list, is IAM's grammar too.
        (
            allow(serde_json::json!([
                "sts:AssumeRole",
                "sts:SetSourceIdentity",
                "sts:TagSession"
            ])),
            vec![],
        ),
    ];
    for (statement, want) in cases {
        assert_eq!(
            missing(&encoded(serde_json::json!([statement.clone()]))),
            Ok(want.clone()),
            "{statement}"
        );
        assert_eq!(
            missing(&encoded(statement.clone())),
            Ok(want),
            "{statement}"
        );
    }
    let denied = serde_json::json!([allow("sts:*".into()),
        {"Effect": "Deny", "Principal": "*", "Action": "sts:TagSession"}]);
    assert_eq!(missing(&encoded(denied)), Ok(vec!["sts:TagSession"]));
    let all_but =
        serde_json::json!({"Effect": "Allow", "Principal": "*", "NotAction": "sts:TagSession"});
    assert_eq!(missing(&encoded(all_but)), Ok(vec!["sts:TagSession"]));
    // moto's test roles: `{}`, no statement at all.
    assert_eq!(missing("%7B%7D"), Ok(both.to_vec()));
}

#[test]
fn an_unreadable_trust_policy_says_why() {
    assert_eq!(missing("%7"), Err("it is not URL-encoded UTF-8".into()));
    assert_eq!(missing("%+1"), Err("it is not URL-encoded UTF-8".into()));
    assert!(missing("%7Bnope")
        .unwrap_err()
        .starts_with("it is not JSON"));
}

#[test]
fn only_an_attribution_action_in_aws_words_is_told_apart() {
    let said = "User: arn:aws:iam::1:user/a is not authorized to perform: sts:SetSourceIdentity \
                on resource: arn:aws:iam::1:role/r";
    assert!(refuses_attribution(said));
    assert!(refuses_attribution(
        &said.replace("sts:SetSourceIdentity", "sts:TagSession")
    ));
    assert!(!refuses_attribution(
        &said.replace("sts:SetSourceIdentity", "sts:AssumeRole")
    ));
}
