//! The signals the programs act on, caught in one set: INT, TERM, HUP and
//! QUIT. `localserver` stops on them (HUP reloads a config file), and
//! `exec` passes each on to its child.

use crate::Error;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// A stream of `kind` signals, caught from now on.
fn catch(kind: SignalKind) -> Result<Signal, Error> {
    signal(kind).map_err(|e| Error::new(format!("cannot handle signals: {e}")))
}

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The set, caught from now on; `hangup_reloads`: HUP asks for a
    /// reload rather than a stop.
    pub fn new(hangup_reloads: bool) -> Result<Signals, Error> {
        Ok(Signals {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
            hangup: catch(SignalKind::hangup())?,
            quit: catch(SignalKind::quit())?,
            hangup_reloads,
        })
    }

    /// Waits for the next signal, as what it asks for.
    pub async fn next(&mut self) -> Heard {
        use nix::libc;
        let hangup = match self.hangup_reloads {
            true => Heard::Reload,
            false => Heard::Stop(libc::SIGHUP),
        };
        match self.number().await {
            libc::SIGHUP => hangup,
            signal => Heard::Stop(signal),
        }
    }

    /// Waits for the next signal; its number (to pass it on as it came).
    pub async fn number(&mut self) -> i32 {
        use nix::libc;
        tokio::select! {
            _ = self.interrupt.recv() => libc::SIGINT,
            _ = self.terminate.recv() => libc::SIGTERM,
            _ = self.hangup.recv() => libc::SIGHUP,
            _ = self.quit.recv() => libc::SIGQUIT,
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
