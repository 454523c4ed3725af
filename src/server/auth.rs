//! Which token opens what. The `--auth-token-file` token opens everything;
//! a scope's own `token_file` token opens that scope alone (not `/`, not
//! `/metrics`, not another scope); with no token given, TCP without an
//! `--auth-token-file` opens every scope that has no token of its own,
//! and the container endpoint, which other users and every container can
//! reach, opens nothing. The Unix socket's peer was checked at accept.

use super::Transport;
use crate::registry::Table;
use crate::token::Token;

/// What one request's `Authorization` opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    /// Everything: the Unix socket, or the server's own token.
    All,
    /// Over TCP with no server token: every scope without one of its own,
    /// `/metrics` and the full `/healthz` (as before scope tokens).
    Open,
    /// The named scope's own token: that scope alone.
    Scope(String),
    /// Nothing but the bare `/healthz` status.
    Nothing,
}

impl Key {
    /// What `given` (the `Authorization` header's bytes) opens on
    /// `transport`. Every token is compared, each in constant time, so how
    /// long this takes does not tell which one matched.
    pub(super) fn of(
        transport: Transport,
        server_token: Option<&Token>,
        table: &Table,
        given: Option<&[u8]>,
    ) -> Key {
        if transport == Transport::Unix {
            return Key::All;
        }
        if let Some(given) = given {
            let server = server_token.is_some_and(|t| t.matches(given));
            let scope =
                table
                    .tokens
                    .iter()
                    .fold(None, |found, (name, token)| match token.matches(given) {
                        true => Some(name),
                        false => found,
                    });
            match (server, scope) {
                (true, _) => return Key::All,
                (false, Some(name)) => return Key::Scope(name.clone()),
                (false, None) => {}
            }
        }
        match (transport, server_token) {
            (Transport::Tcp, None) => Key::Open,
            _ => Key::Nothing,
        }
    }

    /// Whether this opens `/metrics` and the full `/healthz`.
    pub(super) fn sees_all(&self) -> bool {
        matches!(self, Key::All | Key::Open)
    }

    /// Whether this opens the credential route of `scope` (`None`: `/`
    /// and `/ecs`, which serve `table`'s default scope).
    pub(super) fn opens(&self, table: &Table, scope: Option<&str>) -> bool {
        let name = scope.or(table.default.as_deref());
        match self {
            Key::All => true,
            Key::Open => name.is_none_or(|name| !table.tokens.contains_key(name)),
            Key::Scope(own) => scope == Some(own.as_str()),
            Key::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            default: Some("open".into()),
            tokens: [
                ("a".to_owned(), Token::for_tests(b"token-of-scope-a")),
                ("b".to_owned(), Token::for_tests(b"token-of-scope-b")),
            ]
            .into(),
            ..Table::default()
        }
    }

    #[test]
    fn a_scope_token_opens_its_scope_alone_on_every_transport_but_the_socket() {
        let table = table();
        let server = Token::for_tests(b"the-servers-own-token");
        for transport in [Transport::Tcp, Transport::Container] {
            for server_token in [None, Some(&server)] {
                let a = Key::of(transport, server_token, &table, Some(b"token-of-scope-a"));
                assert_eq!(a, Key::Scope("a".into()));
                assert!(a.opens(&table, Some("a")));
                for other in [Some("b"), Some("open"), None] {
                    assert!(!a.opens(&table, other), "{transport} {other:?}");
                }
                assert!(!a.sees_all());
            }
            let all = Key::of(
                transport,
                Some(&server),
                &table,
                Some(b"the-servers-own-token"),
            );
            assert!(all.sees_all() && all.opens(&table, Some("b")) && all.opens(&table, None));
        }
        let unix = Key::of(Transport::Unix, Some(&server), &table, None);
        assert_eq!(unix, Key::All);
    }

    #[test]
    fn without_a_token_tcp_opens_scopes_without_one_and_the_container_endpoint_nothing() {
        let table = table();
        let open = Key::of(Transport::Tcp, None, &table, Some(b"a wrong token!!!"));
        assert_eq!(open, Key::Open);
        assert!(open.opens(&table, Some("open")) && open.opens(&table, None));
        assert!(!open.opens(&table, Some("a")) && !open.opens(&table, Some("b")));
        let server = Token::for_tests(b"the-servers-own-token");
        assert_eq!(
            Key::of(Transport::Tcp, Some(&server), &table, None),
            Key::Nothing
        );
        for given in [
            None,
            Some(&b"the-servers-own-token"[..]),
            Some(b"token-of-scope-"),
        ] {
            assert_eq!(
                Key::of(Transport::Container, None, &table, given),
                Key::Nothing
            );
        }
        assert!(!Key::Nothing.opens(&table, Some("open")) && !Key::Nothing.sees_all());
    }
}
