//! The one client layer, used by the CLI and the controllers alike: reaching the control plane
//! ([`connect`]), member clusters from their Cluster objects ([`member`]), counting every
//! request ([`requests`]), resolving kinds by discovery ([`kinds`]) and waiting for reflector
//! stores ([`ready`]).

pub mod connect;
pub mod csr;
pub mod kinds;
pub mod member;
pub mod ready;
pub mod requests;
