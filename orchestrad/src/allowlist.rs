//! The allowlist: the tool rules an agent may use without asking (`bypass_permissions`,
//! passed to Claude Code as `--allowedTools`), the default one, and which rules let an
//! agent run programs of its own making.
//!
//! How Claude Code reads a Bash rule (its permission docs; `fake-claude` models the same):
//! `Bash(git status)` allows exactly that command; `Bash(ls *)` allows `ls` followed by
//! anything (the space makes it a word: not `lsof`); `Bash` or `Bash(*)` allows every
//! command. A compound command (`a && b`, `a; b`, `a | b`) is split and every part must
//! match a rule of its own, so `ls && sh x` still asks for `sh x`.
//!
//! Why the default holds so few Bash rules. A rule matches text, not the program it
//! starts. `Bash(git *)` looks like "read the history" but also matches
//! `git -c alias.x='!touch ~/x' x`, which runs any program, and `git diff --output=FILE`
//! writes any file (a `~/.bashrc` runs later); a pager or a textconv driver runs
//! programs too. `Bash(npm *)`, `Bash(cargo *)`, `Bash(make *)` and the like run scripts,
//! build files and tests the agent can write itself. So the default allows git only as
//! whole commands with no room for an option, and wildcards only after programs that read
//! and start nothing (`ls`, `cat`, `head`, `tail`, `wc`): none of their options runs a
//! program or writes a file (GNU coreutils; `sort`, `find`, `rg`, `sed` and `awk` do, so
//! they are left out). A redirect (`cat a > b`) is a write, which Claude Code checks on
//! its own as an edit.

/// The default allowlist: reading and listing, nothing that runs a program.
pub const DEFAULT: &[&str] = &[
    "Read",
    "Grep",
    "Glob",
    "LS",
    "Bash(pwd)",
    "Bash(ls)",
    "Bash(ls *)",
    "Bash(cat *)",
    "Bash(head *)",
    "Bash(tail *)",
    "Bash(wc *)",
    "Bash(git status)",
    "Bash(git status --short)",
    "Bash(git diff)",
    "Bash(git diff --stat)",
    "Bash(git diff --cached)",
    "Bash(git log)",
    "Bash(git log --oneline)",
    "Bash(git show)",
    "Bash(git branch)",
];

/// Programs that run code an agent can write (scripts, build files, tests, plugins) or
/// any program it names, whatever the arguments, with why.
const RUNNERS: &[(&[&str], &str)] = &[
    (
        &[
            "sh", "bash", "zsh", "fish", "dash", "env", "xargs", "sudo", "nohup", "exec",
        ],
        "runs any command it is given",
    ),
    (
        &[
            "python", "python3", "node", "deno", "bun", "ruby", "perl", "php", "lua",
        ],
        "runs any script, including one the agent just wrote",
    ),
    (
        &["npm", "npx", "pnpm", "yarn", "pip", "pip3", "uv", "poetry"],
        "runs package scripts and installs (`npm run`, `npm exec`, `npx`), which the agent can write",
    ),
    (
        &[
            "cargo", "make", "cmake", "go", "gradle", "mvn", "just", "ninja", "rake", "tox",
        ],
        "builds and tests run code from the repository (build scripts, Makefiles, tests), which the agent can write",
    ),
    (
        &["docker", "podman", "kubectl", "ssh"],
        "runs any program, here or elsewhere",
    ),
];

/// Programs that are safe only as whole commands: with room for more arguments they run
/// programs or write files, with why.
const OPEN_ENDED: &[(&str, &str)] = &[
    (
        "git",
        "git runs programs through its options and config (`git -c alias.x='!cmd' x`, pagers, \
         hooks) and writes files (`git diff --output=FILE`)",
    ),
    (
        "find",
        "`find -exec` runs any program and `-delete` removes files",
    ),
    ("rg", "`rg --pre` runs any program"),
    (
        "sort",
        "`sort --compress-program` runs any program and `-o` writes any file",
    ),
    (
        "sed",
        "GNU sed's `e` command runs any program and `-i` rewrites files",
    ),
    ("awk", "awk's `system()` runs any program"),
    ("less", "`!cmd` in less runs any program"),
    ("vim", "vim runs any program (`:!cmd`)"),
];

/// Why `rule` lets an agent run programs of its own making, or `None` when it does not
/// (as far as we know: a rule for a tool other than Bash is never flagged).
pub fn why_risky(rule: &str) -> Option<String> {
    let rule = rule.trim();
    let spec = match rule.strip_prefix("Bash") {
        Some("") => return Some("allows every shell command without asking".to_owned()),
        Some(rest) => rest.strip_prefix('(')?.strip_suffix(')')?.trim(),
        None => return None,
    };
    // `Bash(npm:*)` is the older spelling of `Bash(npm *)`.
    let spec = spec
        .strip_suffix(":*")
        .map_or(spec.to_owned(), |s| format!("{s} *"));
    let open_ended = spec.contains('*');
    let program = spec.split_whitespace().next().unwrap_or_default();
    if program == "*" {
        return Some("allows every shell command without asking".to_owned());
    }
    let program = program.rsplit('/').next().unwrap_or(program);
    if let Some((_, why)) = RUNNERS.iter().find(|(names, _)| {
        names
            .iter()
            .any(|n| program == *n || program.starts_with(&format!("{n}.")))
    }) {
        return Some(format!("{program} {why}"));
    }
    if open_ended && let Some((_, why)) = OPEN_ENDED.iter().find(|(name, _)| program == *name) {
        return Some((*why).to_owned());
    }
    None
}

/// A warning for each rule of `rules` that lets an agent run programs of its own making,
/// naming the rule and saying why.
pub fn warnings(rules: &[String]) -> Vec<String> {
    rules
        .iter()
        .filter_map(|rule| {
            let why = why_risky(rule)?;
            Some(format!(
                "bypass_permissions holds {rule:?}, which lets agents run programs of their own \
                 making without asking: {why}. Remove it to be asked first, or keep it if you \
                 trust every task with that"
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_runs_nothing() {
        for rule in DEFAULT {
            assert_eq!(why_risky(rule), None, "{rule}");
        }
    }

    #[test]
    fn runners_and_open_ended_git_are_named() {
        for rule in [
            "Bash",
            "Bash(*)",
            "Bash(git *)",
            "Bash(git:*)",
            "Bash(git diff *)",
            "Bash(npm *)",
            "Bash(npx *)",
            "Bash(cargo *)",
            "Bash(cargo test)",
            "Bash(make *)",
            "Bash(python *)",
            "Bash(python3.12 x.py)",
            "Bash(/usr/bin/sh *)",
            "Bash(find *)",
        ] {
            assert!(why_risky(rule).is_some(), "{rule}");
        }
        for rule in [
            "Read",
            "Write",
            "Bash(git status)",
            "Bash(ls *)",
            "WebFetch",
        ] {
            assert_eq!(why_risky(rule), None, "{rule}");
        }
        let warned = warnings(&["Bash(git *)".to_owned(), "Read".to_owned()]);
        assert_eq!(warned.len(), 1);
        assert!(warned[0].contains("\"Bash(git *)\""), "{}", warned[0]);
        assert!(warned[0].contains("alias"), "{}", warned[0]);
    }
}
