//! The table of agents that `status` prints, and `status --watch` redraws: one place, so
//! the two never drift apart (and neither command needs the other).

use orchestra_proto::v1::Agent;

use crate::output;

/// The agents as a table; `show_repo` adds a REPO column (when they come from several).
/// Columns have fixed least widths so a redrawn table does not shift as values change.
pub fn print(agents: &[Agent], show_repo: bool) {
    let now = chrono::Utc::now().timestamp_millis();
    let rows: Vec<Vec<String>> = agents
        .iter()
        .map(|a| {
            let duration = if a.started_at_ms > 0 {
                let end = if a.ended_at_ms > 0 {
                    a.ended_at_ms
                } else {
                    now
                };
                output::duration(((end - a.started_at_ms).max(0) / 1000) as u64)
            } else {
                "-".to_owned()
            };
            let refused;
            let activity = if !a.error.is_empty() {
                &a.error
            } else if !a.permission_denials.is_empty() && a.state != "waiting" {
                // A refusal explains a run that "succeeded" with the work half done.
                refused = format!(
                    "{} refused: {}",
                    a.permission_denials.len(),
                    a.permission_denials.join("; ")
                );
                &refused
            } else {
                &a.activity
            };
            let mut row = vec![
                a.id.clone(),
                a.state.clone(),
                duration,
                output::usd_text(a.total_cost_usd),
            ];
            if show_repo {
                row.push(output::truncate_left(
                    &crate::scope::repo_label(&a.repo),
                    28,
                ));
            }
            row.push(output::truncate(&a.task, 30));
            row.push(output::truncate(activity, 50));
            row
        })
        .collect();
    // id, "interrupted", "23h 59m", "$999.99", [repo,] task.
    if show_repo {
        output::table_min(
            &["ID", "STATE", "TIME", "COST", "REPO", "TASK", "ACTIVITY"],
            &rows,
            &[8, 11, 7, 7, 28, 30],
        );
    } else {
        output::table_min(
            &["ID", "STATE", "TIME", "COST", "TASK", "ACTIVITY"],
            &rows,
            &[8, 11, 7, 7, 30],
        );
    }
    print_relations(agents);
}

/// Below the table: the overlap radar's findings and the `--after` chains.
fn print_relations(agents: &[Agent]) {
    let mut lines = Vec::new();
    for a in agents {
        for overlap in &a.overlaps {
            lines.push(format!(
                "{}  also changed by {}: {}",
                a.id,
                overlap.agent_id,
                overlap.paths.join(", ")
            ));
        }
        if !a.after.is_empty() {
            lines.push(format!("{}  runs after {}", a.id, a.after));
        }
    }
    if !lines.is_empty() {
        println!();
        for line in lines {
            println!("{line}");
        }
    }
}
