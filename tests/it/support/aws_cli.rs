//! The AWS CLI with a credential_process profile.
#![allow(unused_imports)]
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The AWS CLI with one profile, `p`, whose credentials come only from
/// `credential_process`, pointed at `endpoint`.
pub struct AwsCli {
    home: tempfile::TempDir,
    endpoint: String,
}

impl AwsCli {
    pub fn new(credential_process: &str, endpoint: &str) -> AwsCli {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("aws-config"),
            format!("[profile p]\nregion = us-east-1\ncredential_process = {credential_process}\n"),
        )
        .unwrap();
        AwsCli {
            home,
            endpoint: endpoint.to_owned(),
        }
    }

    /// Its HOME and XDG_RUNTIME_DIR.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `aws ARGS --profile p --endpoint-url ENDPOINT`: its stdout, or a
    /// panic with its stderr.
    pub fn run(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(tool("aws"));
        aws_env(&mut cmd, self.home.path());
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(args)
            .args(["--profile", "p", "--endpoint-url", &self.endpoint]);
        let out = run(&mut cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "aws {args:?}: {err}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// `aws s3 cp` of a new file to `s3://bucket/key`, then `aws s3 ls`
    /// must show it.
    pub fn copy_and_list(&self, bucket: &str, key: &str) {
        let file = self.home.path().join("upload.txt");
        std::fs::write(&file, "uploaded by the aws cli").unwrap();
        let target = format!("s3://{bucket}/{key}");
        self.run(&["s3", "cp", file.to_str().unwrap(), &target]);
        let listing = self.run(&["s3", "ls", &format!("s3://{bucket}/")]);
        assert!(listing.contains(key), "{listing}");
    }
}
