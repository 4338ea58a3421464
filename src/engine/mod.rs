//! Decisions, no I/O: what the controllers decide and what `karmadactl why` explains, as
//! functions over plain values and slices, unit-tested without a runtime or a server.
//!
//! | module | decides |
//! | --- | --- |
//! | [`matching`] | which policy claims a template (selectors, precedence) |
//! | [`binding`] | the ResourceBinding a template and its policy call for |
//! | [`placement`] | which clusters fit a placement, and why the others do not |
//! | [`division`] | how many replicas each target cluster gets |
//! | [`capacity`] | a member's resource summary (allocatable, allocated, allocating, grades) |
//! | [`overrides`] | which override rules apply to a cluster, and what they change |
//! | [`render`] | the member manifest a Work carries |
//! | [`retain`] | which fields of a member object the member owns (kept, not reverted) |
//! | [`ownership`] | whose a member object is: what applying or deleting a Work may do to it |
//! | [`status`] | what a Work records of a member object; the template's summed status |
//! | [`health`] | whether a member object is healthy |
//! | [`cluster`] | a cluster's health taints and the taints its ClusterTaintPolicies add |
//! | [`eviction`] | graceful eviction tasks: when a cluster's copy goes, what state moves with it |
//! | [`dependencies`] | what a workload depends on (ConfigMaps, Secrets, ...) |
//! | [`interpreter`] | any kind's replicas, status, health and dependencies: customizations (Lua), bundled ones, built-in |
//! | [`selector`], [`quantity`] | label selectors; Kubernetes quantities as numbers |

pub mod binding;
pub mod capacity;
pub mod cluster;
pub mod dependencies;
pub mod division;
pub mod eviction;
pub mod health;
pub mod interpreter;
pub mod matching;
pub mod overrides;
pub mod ownership;
pub mod placement;
pub mod quantity;
pub mod render;
pub mod retain;
pub mod selector;
pub mod status;
