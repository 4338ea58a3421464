//! What each `karmadactl` command does, given parsed arguments and a client. The CLI in
//! `commands/` only parses and validates; everything that talks to a cluster lives here.

pub mod api_resources;
pub mod apply;
pub mod cordon;
pub mod create;
pub mod delete;
pub mod describe;
pub mod edit;
pub mod exec;
pub mod explain;
pub mod get;
pub mod init;
pub mod interpret;
pub mod join;
pub mod label;
pub mod logs;
pub mod objects;
pub mod patch;
pub mod pods;
pub mod promote;
pub mod register;
pub mod scope;
pub mod taint;
pub mod token;
pub mod top;
pub mod unjoin;
pub mod unregister;
pub mod version;
pub mod why;

/// Fails with one line naming the `-C` clusters that are not joined, and those that are.
pub fn require_known_clusters(wanted: &[String], known: &[String]) -> crate::Result<()> {
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !known.contains(w))
        .map(|m| format!("{m:?}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    Err(crate::Error::NotFound(format!(
        "no member cluster {} (known: {known}); check -C/--clusters",
        missing.join(", ")
    )))
}
