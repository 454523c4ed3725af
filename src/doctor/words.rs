//! A command line split into words as botocore splits `credential_process`
//! (`compat_shell_split`: Python's `shlex.split`, POSIX mode), and words
//! joined back for people to read.
//!
//! Words part at spaces, tabs and line ends; `'...'` keeps everything in
//! it; `"..."` keeps everything but `\"` and `\\` (one character each);
//! `\` outside quotes keeps the next character; `''` is an empty word.
//! There are no comments: `#` and `;` are characters like any other, so
//! `fetch --port 1 # note` passes `#` and `note` to the program.

/// The words of `line`, or shlex's own reason it cannot be split.
pub(super) fn split(line: &str) -> Result<Vec<String>, &'static str> {
    const UNCLOSED: &str = "No closing quotation";
    const ESCAPE: &str = "No escaped character";
    let mut words = Vec::new();
    // Some once a word has begun: an empty quoted word is a word.
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => words.extend(word.take()),
            '\\' => word
                .get_or_insert_default()
                .push(chars.next().ok_or(ESCAPE)?),
            '\'' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next().ok_or(UNCLOSED)? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next().ok_or(UNCLOSED)? {
                        '"' => break,
                        '\\' => match chars.next().ok_or(ESCAPE)? {
                            c @ ('"' | '\\') => word.push(c),
                            c => word.extend(['\\', c]),
                        },
                        c => word.push(c),
                    }
                }
            }
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// `words` as one line that [`split`] splits back into them: a word with a
/// space, a quote or a character a shell reads specially is double-quoted
/// (`"` and `\` escaped).
pub(super) fn join(words: &[String]) -> String {
    let plain = |w: &String| {
        !w.is_empty()
            && !w
                .chars()
                .any(|c| c.is_whitespace() || "\"'\\$`;&|()#*?!{}[]~".contains(c))
    };
    let quoted = |w: &String| {
        let mut out = String::from("\"");
        for c in w.chars() {
            if "\"\\".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out + "\""
    };
    let shown: Vec<String> = words
        .iter()
        .map(|w| match plain(w) {
            true => w.clone(),
            false => quoted(w),
        })
        .collect();
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line and the words Python's `shlex.split` (3.11) gives for it.
    #[test]
    fn lines_split_as_shlex_splits_them() {
        let cases: &[(&str, &[&str])] = &[
            ("fetch --port 9000", &["fetch", "--port", "9000"]),
            (
                "fetch --port 9 ; --scope x",
                &["fetch", "--port", "9", ";", "--scope", "x"],
            ),
            (
                "fetch --port 9 # note",
                &["fetch", "--port", "9", "#", "note"],
            ),
            ("fetch#x a#b", &["fetch#x", "a#b"]),
            (
                "\"/opt/my tools/fetch\" \"--port\" \"9\"",
                &["/opt/my tools/fetch", "--port", "9"],
            ),
            ("a\"b\"c 'd'e", &["abc", "de"]),
            ("'' \"\" x", &["", "", "x"]),
            (
                r#""a\"b" "a\\b" "a\$b" 'a\b'"#,
                &["a\"b", "a\\b", "a\\$b", "a\\b"],
            ),
            (r"a\ b \'c", &["a b", "'c"]),
            ("fetch\n  --port\t9\r\n", &["fetch", "--port", "9"]),
            ("", &[]),
        ];
        for (line, words) in cases {
            assert_eq!(split(line).unwrap(), *words, "{line}");
        }
        assert_eq!(split("fetch 'unclosed"), Err("No closing quotation"));
        assert_eq!(split("fetch \"a\\"), Err("No escaped character"));
        assert_eq!(split("fetch a\\"), Err("No escaped character"));
    }

    #[test]
    fn joined_words_split_back_to_themselves() {
        for words in [
            &[
                "curl",
                "-H",
                "Authorization: <redacted>",
                "http://127.0.0.1/",
            ][..],
            &["fetch", ";", "#", "", "a\"b$c\\d"],
        ] {
            let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            assert_eq!(split(&join(&words)).unwrap(), words);
        }
        let shown = join(&[
            "curl".into(),
            "-H".into(),
            "Authorization: <redacted>".into(),
        ]);
        assert_eq!(shown, "curl -H \"Authorization: <redacted>\"");
    }
}
