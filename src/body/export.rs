//! `s3-credentials-fetch --format`: a credential as shell lines, the way
//! `aws configure export-credentials --format` writes them.

/// How `s3-credentials-fetch` prints a credential: the formats, names and
/// lines of `aws configure export-credentials --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Export {
    /// The `credential_process` JSON, as served.
    #[default]
    Process,
    /// `export AWS_ACCESS_KEY_ID=...` (sh, bash, zsh).
    Env,
    /// `AWS_ACCESS_KEY_ID=...`.
    EnvNoExport,
    /// `set -gx AWS_ACCESS_KEY_ID "..."`.
    Fish,
    /// `$Env:AWS_ACCESS_KEY_ID="..."`.
    Powershell,
}

impl Export {
    /// Every format's name, as `--format` takes it.
    pub(crate) const NAMES: [&'static str; 5] =
        ["process", "env", "env-no-export", "fish", "powershell"];

    /// The format called `name`.
    pub fn named(name: &str) -> Option<Export> {
        let all = [
            Export::Process,
            Export::Env,
            Export::EnvNoExport,
            Export::Fish,
            Export::Powershell,
        ];
        Export::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| all[i])
    }

    /// A checked `credential_process` body (see [`check_process_body`]) in
    /// this format, ending in a newline. Values the awscli's lines would
    /// carry safely are written exactly as it writes them; any other value
    /// is quoted for the shell, so evaluating the lines never runs it.
    pub fn render(self, body: &[u8]) -> Result<Vec<u8>, String> {
        let Some(shell) = self.shell() else {
            return Ok([body, b"\n"].concat());
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "it is not JSON".to_owned())?;
        let mut out = String::new();
        for (var, key) in [
            ("AWS_ACCESS_KEY_ID", "AccessKeyId"),
            ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
            ("AWS_SESSION_TOKEN", "SessionToken"),
            ("AWS_CREDENTIAL_EXPIRATION", "Expiration"),
        ] {
            let Some(text) = value.get(key).and_then(|v| v.as_str()) else {
                continue;
            };
            if text.chars().any(char::is_control) {
                return Err(format!("its {key} holds a control character"));
            }
            out.push_str(&shell.line(var, text));
            out.push('\n');
        }
        Ok(out.into_bytes())
    }

    fn shell(self) -> Option<Shell> {
        match self {
            Export::Process => None,
            Export::Env => Some(Shell::Sh { export: true }),
            Export::EnvNoExport => Some(Shell::Sh { export: false }),
            Export::Fish => Some(Shell::Fish),
            Export::Powershell => Some(Shell::Powershell),
        }
    }
}

/// Where export lines are evaluated.
#[derive(Clone, Copy)]
enum Shell {
    Sh { export: bool },
    Fish,
    Powershell,
}

impl Shell {
    /// `var` set to `value`: as the awscli writes it when that is safe,
    /// else quoted so that nothing in `value` is special.
    fn line(self, var: &str, value: &str) -> String {
        let plain = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=._:-".contains(&b));
        match (self, plain) {
            (Shell::Sh { export }, _) => {
                let export = if export { "export " } else { "" };
                match plain {
                    true => format!("{export}{var}={value}"),
                    false => format!("{export}{var}='{}'", value.replace('\'', "'\\''")),
                }
            }
            (Shell::Fish, true) => format!("set -gx {var} \"{value}\""),
            (Shell::Fish, false) => {
                let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
                format!("set -gx {var} '{escaped}'")
            }
            (Shell::Powershell, true) => format!("$Env:{var}=\"{value}\""),
            (Shell::Powershell, false) => format!("$Env:{var}='{}'", value.replace('\'', "''")),
        }
    }
}
