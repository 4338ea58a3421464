//! What each `karmadactl` command does, given parsed arguments and a client. The CLI in
//! `commands/` only parses and validates; everything that talks to a cluster lives here.

pub mod apply;
pub mod cordon;
pub mod describe;
pub mod get;
pub mod init;
pub mod join;
pub mod promote;
pub mod taint;
pub mod unjoin;
pub mod version;
pub mod why;
