//! Gates: files a test creates when it is ready for a fake-claude turn to answer.
//!
//! A prompt with `GATE:<file>` holds its turn open until `<file>` exists, so "while the agent
//! runs" is a state the test controls, not a race between a sleep and a command.

use std::path::PathBuf;

use crate::TestEnv;

/// One gate file inside a test's temp dir.
#[derive(Debug)]
pub struct Gate {
    /// The file whose creation lets the turn answer.
    path: PathBuf,
}

impl Gate {
    /// A closed gate called `name` in `env`'s temp dir.
    pub fn new(env: &TestEnv, name: &str) -> Gate {
        let dir = env.root.path().join("gates");
        std::fs::create_dir_all(&dir).expect("creating the gates dir");
        Gate {
            path: dir.join(name),
        }
    }

    /// `text` prefixed with the word that makes fake-claude wait for this gate.
    pub fn task(&self, text: &str) -> String {
        format!("GATE:{} {text}", self.path.display())
    }

    /// `text` prefixed with the word that makes the stub Messages API (for the real CLI)
    /// hold its answers until this gate opens.
    pub fn stub_prompt(&self, text: &str) -> String {
        format!(
            "{}{} {text}",
            crate::stub_api::HOLD_MARKER,
            self.path.display()
        )
    }

    /// Lets every turn waiting on this gate answer.
    pub fn open(&self) {
        std::fs::write(&self.path, "").expect("opening the gate");
    }
}
