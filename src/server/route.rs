//! Which route a request asks for: its path parsed once, for the answer
//! and for the metrics label alike. IMDS has paths of its own (`imds`
//! answers them); every other transport shares these.

use super::respond::Format;
use super::Transport;
use crate::body::SCOPE_PATH;
use crate::scope::check_scope_name;

/// What a request's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route<'a> {
    /// A credential: of the named scope, or (`None`) of the default one.
    Credential(Option<&'a str>, Format),
    /// What a container needs for the named scope (the Unix socket only).
    ContainerEnv(&'a str),
    /// What the named (or default) scope grants (the Unix socket only).
    About(Option<&'a str>),
    /// `/healthz`.
    Health,
    /// `/metrics`.
    Metrics,
    /// Any path of the IMDS port: `imds` routes its own.
    Imds,
    /// Nothing here: 404.
    Unknown,
}

impl<'a> Route<'a> {
    /// The route `path` names on `transport`: `/`, `/ecs`, `/healthz`,
    /// `/metrics`, `/about`, `/scope/NAME`, `/scope/NAME/ecs`,
    /// `/scope/NAME/about` and `/scope/NAME/container-env`; a scope name
    /// that breaks the naming rule names nothing.
    pub(super) fn of(transport: Transport, path: &'a str) -> Route<'a> {
        if transport == Transport::Imds {
            return Route::Imds;
        }
        match path {
            "/" => Route::Credential(None, Format::Process),
            "/ecs" => Route::Credential(None, Format::Ecs),
            "/healthz" => Route::Health,
            "/about" => Route::About(None),
            "/metrics" => Route::Metrics,
            _ => path
                .strip_prefix(SCOPE_PATH)
                .and_then(Route::of_scope)
                .unwrap_or(Route::Unknown),
        }
    }

    /// What `rest` (the path after `/scope/`) names.
    fn of_scope(rest: &'a str) -> Option<Route<'a>> {
        let (name, route): (&str, fn(&'a str) -> Route<'a>) =
            if let Some(name) = rest.strip_suffix("/container-env") {
                (name, Route::ContainerEnv)
            } else if let Some(name) = rest.strip_suffix("/about") {
                (name, |name| Route::About(Some(name)))
            } else if let Some(name) = rest.strip_suffix("/ecs") {
                (name, |name| Route::Credential(Some(name), Format::Ecs))
            } else {
                (rest, |name| Route::Credential(Some(name), Format::Process))
            };
        check_scope_name(name).ok()?;
        Some(route(name))
    }

    /// The route's template, as metrics label it (a scope's name is not a
    /// label: a label per name would let callers grow the series).
    pub(super) fn label(self) -> &'static str {
        match self {
            Route::Credential(None, Format::Process) => "/",
            Route::Credential(None, Format::Ecs) => "/ecs",
            Route::Credential(Some(_), Format::Process) => "/scope/{name}",
            Route::Credential(Some(_), Format::Ecs) => "/scope/{name}/ecs",
            Route::ContainerEnv(_) => "/scope/{name}/container-env",
            Route::About(None) => "/about",
            Route::About(Some(_)) => "/scope/{name}/about",
            Route::Health => "/healthz",
            Route::Metrics => "/metrics",
            Route::Imds => "imds",
            Route::Unknown => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_names_its_route_and_a_bad_scope_name_names_none() {
        let tcp = |path| Route::of(Transport::Tcp, path);
        assert_eq!(tcp("/"), Route::Credential(None, Format::Process));
        assert_eq!(
            tcp("/scope/a/ecs"),
            Route::Credential(Some("a"), Format::Ecs)
        );
        assert_eq!(
            tcp("/scope/a"),
            Route::Credential(Some("a"), Format::Process)
        );
        assert_eq!(tcp("/scope/a/about"), Route::About(Some("a")));
        assert_eq!(tcp("/scope/a/container-env"), Route::ContainerEnv("a"));
        for path in [
            "/scope/",
            "/scope/A",
            "/scope/a/b",
            "/scope/../x",
            "/x",
            "//",
        ] {
            assert_eq!(tcp(path), Route::Unknown, "{path}");
        }
        assert_eq!(Route::of(Transport::Imds, "/"), Route::Imds);
        assert_eq!(tcp("/scope/a/ecs").label(), "/scope/{name}/ecs");
    }
}
