//! The tokens a server checks: the `--auth-token-file` token, and each
//! scope's own (`token_file`), each of which must be its own.

use crate::scope::Scopes;
use crate::token::{self, Loaded, Token};
use crate::{log, Error};
use std::collections::BTreeMap;

/// Each scope's own token (`token_file`), read or made. Each must be its
/// own: one that is the server's token (`server_token`) or another
/// scope's would open more than its scope, so it is refused.
pub(super) fn scope_tokens(
    scopes: &Scopes,
    server_token: Option<&Token>,
) -> Result<BTreeMap<String, Token>, Error> {
    let mut tokens: BTreeMap<String, Token> = BTreeMap::new();
    let with_file = (scopes.by_name.values()).filter_map(|s| Some((s, s.token_file.as_ref()?)));
    for (scope, path) in with_file {
        let what = format!("scope '{}' token_file", scope.name);
        let token = load_token(path, &what)?;
        let fix = "give each scope a file of its own (a missing one is made with a new token)";
        if server_token.is_some_and(|t| t.matches(token.expose())) {
            return Err(Error::new(format!(
                "{what} {} holds the --auth-token-file token, which opens every scope: {fix}",
                path.display()
            )));
        }
        if let Some((other, _)) = tokens.iter().find(|(_, t)| t.matches(token.expose())) {
            return Err(Error::new(format!(
                "scopes '{other}' and '{}' have the same token, so either one's holder gets \
                 the other: {fix}",
                scope.name
            )));
        }
        tokens.insert(scope.name.clone(), token);
    }
    Ok(tokens)
}

/// IMDS clients send no `Authorization` header, so `--imds-port` hands the
/// default scope to any caller the uid check admits: a default scope with
/// a token of its own would lose it there. Refused, as `--imds-port` with
/// `--auth-token-file` is.
pub(super) fn check_imds(scopes: &Scopes, imds: bool) -> Result<(), Error> {
    match scopes
        .default_scope()
        .filter(|s| imds && s.token_file.is_some())
    {
        Some(scope) => Err(Error::new(format!(
            "--imds-port cannot serve the default scope '{}': it has a token_file, and IMDS \
             clients send no token; make another scope the default, or drop --imds-port",
            scope.name
        ))),
        None => Ok(()),
    }
}

/// A token file (`what` names it), read (or made, and said so).
pub(super) fn load_token(path: &std::path::Path, what: &str) -> Result<Token, Error> {
    match token::load(path, what)? {
        Loaded::Read(token) => Ok(token),
        Loaded::Created(token) => {
            log::say(&format!(
                "Created {} with a new random token: give it to clients as \
                 AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                path.display()
            ));
            Ok(token)
        }
    }
}
