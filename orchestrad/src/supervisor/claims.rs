//! Claims: soft locks on files, per repository. An agent claims paths before editing
//! them; a second claim on a held path is refused with who holds it. Nothing stops an
//! edit (a claim is advice between agents, not a file lock). Claims are kept in the store,
//! so they outlive a daemon restart as the agents do; a claim of an agent that no longer
//! runs is free.
//! The overlap radar reads them too: an agent that changes a path another agent holds,
//! and the holder, are both told (see [`super::radar`]). Claimed through the `orchestra`
//! MCP server's `claim` and `release` tools ([`crate::talk`]).

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::store::{Store, StoreError, Table};

/// Store table of claims: `repo NUL path` to the [`Stored`] claim.
const TABLE: &str = "claims";

/// Most paths one call may claim or release.
pub const MAX_PATHS: usize = 100;

/// Who holds a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The agent.
    pub agent_id: String,
    /// Since, ms since the epoch.
    pub at_ms: i64,
}

/// A claim as the store keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    repo: PathBuf,
    path: String,
    #[serde(flatten)]
    claim: Claim,
}

/// Every claim, by repository and path relative to it.
#[derive(Debug, Default)]
pub struct Claims {
    /// (repository, path) to its holder.
    held: Mutex<HashMap<(PathBuf, String), Claim>>,
    /// Where they are kept (none in unit tests).
    table: Option<Table>,
}

/// The store key of `path` in `repo`.
fn key(repo: &Path, path: &str) -> String {
    format!("{}\0{path}", repo.display())
}

/// `path` as a repository-relative key: relative to `cwd` (the agent's worktree, which
/// mirrors the repository), or absolute inside it; `..` and paths outside are refused.
pub fn normalize(cwd: &Path, path: &str) -> Result<String, String> {
    let given = Path::new(path.trim());
    let relative = if given.is_absolute() {
        given.strip_prefix(cwd).map_err(|_| {
            format!(
                "{path:?} is outside your working directory {}",
                cwd.display()
            )
        })?
    } else {
        given
    };
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "{path:?}: give a path inside your working directory, without `..`"
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("{path:?} names no file"));
    }
    Ok(parts.join("/"))
}

impl Claims {
    /// The claims kept in `store` of the agents that still work (`active` says which);
    /// the others' are dropped.
    pub fn load(store: &Store, active: impl Fn(&str) -> bool) -> Result<Claims, StoreError> {
        let table = store.table(TABLE)?;
        let mut held = HashMap::new();
        for (key, stored) in table.all::<Stored>()? {
            if active(&stored.claim.agent_id) {
                held.insert((stored.repo, stored.path), stored.claim);
            } else {
                table.remove_or_queue(&key)?;
            }
        }
        Ok(Claims {
            held: Mutex::new(held),
            table: Some(table),
        })
    }

    /// Releases everything `agent` holds (it ended).
    pub fn release_all(&self, agent: &str) {
        let mut held = self.held.lock();
        let mine: Vec<(PathBuf, String)> = held
            .iter()
            .filter(|(_, claim)| claim.agent_id == agent)
            .map(|(key, _)| key.clone())
            .collect();
        for key in mine {
            held.remove(&key);
            self.keep(&key.0, &key.1, None);
        }
    }

    /// Keeps what memory holds of `path` in `repo` (`claim`, or none) in the store; on a
    /// full disk it is written once there is room. Memory is what counts meanwhile.
    fn keep(&self, repo: &Path, path: &str, claim: Option<&Claim>) {
        let Some(table) = &self.table else { return };
        let key = key(repo, path);
        let kept = match claim {
            Some(claim) => table
                .put_or_queue(
                    &key,
                    &Stored {
                        repo: repo.to_path_buf(),
                        path: path.to_owned(),
                        claim: claim.clone(),
                    },
                )
                .map(drop),
            None => table.remove_or_queue(&key),
        };
        if let Err(err) = kept {
            tracing::warn!(%err, path, "cannot keep a claim in the store");
        }
    }

    /// Claims `path` in `repo` for `agent`; Err with the holder when another live agent
    /// (`alive` says which) holds it. Claiming again what one holds is fine.
    pub fn claim(
        &self,
        repo: &Path,
        path: &str,
        agent: &str,
        alive: impl Fn(&str) -> bool,
    ) -> Result<(), Claim> {
        let mut held = self.held.lock();
        let key = (repo.to_path_buf(), path.to_owned());
        if let Some(holder) = held.get(&key)
            && holder.agent_id != agent
            && alive(&holder.agent_id)
        {
            return Err(holder.clone());
        }
        let claim = Claim {
            agent_id: agent.to_owned(),
            at_ms: crate::time::now_ms(),
        };
        self.keep(repo, path, Some(&claim));
        held.insert(key, claim);
        Ok(())
    }

    /// Releases `path` in `repo` if `agent` holds it; true if it did.
    pub fn release(&self, repo: &Path, path: &str, agent: &str) -> bool {
        let mut held = self.held.lock();
        let key = (repo.to_path_buf(), path.to_owned());
        if held.get(&key).is_some_and(|c| c.agent_id == agent) {
            held.remove(&key);
            self.keep(repo, path, None);
            return true;
        }
        false
    }

    /// The holder of `path` in `repo`, if any.
    pub fn holder(&self, repo: &Path, path: &str) -> Option<Claim> {
        self.held
            .lock()
            .get(&(repo.to_path_buf(), path.to_owned()))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_names_the_holder_until_it_is_released() {
        let claims = Claims::default();
        let repo = Path::new("/r");
        assert!(claims.claim(repo, "src/a.rs", "a1", |_| true).is_ok());
        assert!(
            claims.claim(repo, "src/a.rs", "a1", |_| true).is_ok(),
            "again: fine"
        );
        let held = claims
            .claim(repo, "src/a.rs", "b2", |_| true)
            .expect_err("held");
        assert_eq!(held.agent_id, "a1");
        assert!(
            claims.claim(repo, "src/a.rs", "b2", |_| false).is_ok(),
            "a dead holder's claim is free"
        );
        assert!(!claims.release(repo, "src/a.rs", "a1"), "not a1's any more");
        assert!(claims.release(repo, "src/a.rs", "b2"));
        assert!(claims.claim(repo, "src/b.rs", "b2", |_| true).is_ok());
        assert!(claims.claim(repo, "src/c.rs", "c3", |_| true).is_ok());
        claims.release_all("b2");
        assert_eq!(
            claims.holder(repo, "src/b.rs"),
            None,
            "an ended agent holds nothing"
        );
        assert!(
            claims.holder(repo, "src/c.rs").is_some(),
            "the others keep theirs"
        );
        assert_eq!(
            normalize(Path::new("/w"), "./src//a.rs").expect("ok"),
            "src/a.rs"
        );
        assert_eq!(
            normalize(Path::new("/w"), "/w/src/a.rs").expect("ok"),
            "src/a.rs"
        );
        assert!(normalize(Path::new("/w"), "../x").is_err());
        assert!(normalize(Path::new("/w"), "/etc/passwd").is_err());
    }
}
