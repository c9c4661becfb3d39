//! Two daemons on one machine, as two machines: the command that reaches a second
//! [`TestEnv`]'s daemon through `orchestractl proxy` (what `ssh -T HOST orchestractl
//! proxy` gives), for `orchestractl hosts add NAME local --command CMD`.

use crate::{TestEnv, bin};

/// `s` in single quotes for `sh -c`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `env VAR=... orchestractl [--no-autostart] proxy` with every variable of `env`:
/// whatever runs it reaches `env`'s daemon. Without `autostart` the proxy may not start
/// that daemon again (a machine that went away stays away).
pub fn proxy_command(env: &TestEnv, autostart: bool) -> String {
    let mut parts = vec!["env".to_owned()];
    for (key, value) in env.envs() {
        parts.push(quote(&format!("{key}={}", value.to_string_lossy())));
    }
    parts.push(quote(&bin("orchestractl").display().to_string()));
    if !autostart {
        parts.push("--no-autostart".to_owned());
    }
    parts.push("proxy".to_owned());
    parts.join(" ")
}
