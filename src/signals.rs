//! The signals the programs act on: `localserver`'s stops and reload, and
//! the one way both it and `exec` catch a signal.

use crate::Error;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// A stream of `kind` signals, caught from now on (shared with `exec`).
pub fn catch(kind: SignalKind) -> Result<Signal, Error> {
    signal(kind).map_err(|e| Error::new(format!("cannot handle signals: {e}")))
}

/// What a signal asks for.
pub enum Heard {
    /// Stop, on this signal's number.
    Stop(i32),
    /// Re-read `--config`.
    Reload,
}

/// The signals the server acts on: Ctrl+C, `kill`, Ctrl+\ (QUIT) stop it;
/// HUP reloads the config file when there is one, and otherwise stops it
/// too (a closed terminal, a dropped ssh session). All of them clean up.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
    quit: Signal,
    hangup_reloads: bool,
}

impl Signals {
    pub fn new(hangup_reloads: bool) -> Result<Signals, Error> {
        Ok(Signals {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
            hangup: catch(SignalKind::hangup())?,
            quit: catch(SignalKind::quit())?,
            hangup_reloads,
        })
    }

    /// Waits for the next signal.
    pub async fn next(&mut self) -> Heard {
        use nix::libc;
        let hangup = match self.hangup_reloads {
            true => Heard::Reload,
            false => Heard::Stop(libc::SIGHUP),
        };
        tokio::select! {
            _ = self.interrupt.recv() => Heard::Stop(libc::SIGINT),
            _ = self.terminate.recv() => Heard::Stop(libc::SIGTERM),
            _ = self.hangup.recv() => hangup,
            _ = self.quit.recv() => Heard::Stop(libc::SIGQUIT),
        }
    }

    /// Waits for the next stop signal (a reload asked for meanwhile is
    /// ignored: there is nothing to reload yet, or it is too late); its
    /// number.
    pub async fn stop(&mut self) -> i32 {
        loop {
            if let Heard::Stop(signal) = self.next().await {
                return signal;
            }
        }
    }
}
