//! The `orchestra` MCP bridge as Claude Code runs it (`orchestractl mcp serve`), driven by
//! a test: one JSON-RPC line in, one line out.

use std::io::{BufRead as _, Write as _};
use std::process::Stdio;

use serde_json::{Value, json};

use crate::{TestEnv, bin};

/// One bridge process; killed on drop.
#[derive(Debug)]
pub struct Bridge {
    /// The process.
    child: std::process::Child,
    /// Its stdout, read line by line.
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Bridge {
    /// A bridge with `token` as its agent secret (empty: a hand-started session's).
    pub fn start(env: &TestEnv, token: &str) -> Bridge {
        Bridge::start_with(env, token, &[])
    }

    /// [`Bridge::start`] with `vars` added to its environment.
    pub fn start_with(env: &TestEnv, token: &str, vars: &[(&str, &str)]) -> Bridge {
        let mut command = env.command(bin("orchestractl"));
        command.args(["mcp", "serve"]).envs(vars.iter().copied());
        if token.is_empty() {
            command.env_remove("ORCHESTRA_MCP_TOKEN");
        } else {
            command.env("ORCHESTRA_MCP_TOKEN", token);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the bridge");
        let out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        Bridge { child, out }
    }

    /// Sends `request` without waiting for its answer.
    pub fn send(&mut self, request: &Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{request}").expect("write");
        stdin.flush().expect("flush");
    }

    /// Reads the next answer.
    pub fn read(&mut self) -> Value {
        let mut line = String::new();
        self.out.read_line(&mut line).expect("read");
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line:?}"))
    }

    /// Sends `request` and reads one answer.
    pub fn call(&mut self, request: &Value) -> Value {
        self.send(request);
        self.read()
    }

    /// Ends the bridge (as Claude Code's exit would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `tools/call` request of tool `name` with `arguments`.
pub fn tool_call(id: u64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments}})
}

/// The text of a tool result, and whether it is an error.
pub fn tool_text(reply: &Value) -> (String, bool) {
    (
        reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reply["result"]["isError"] == true,
    )
}
