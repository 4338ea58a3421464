//! Reaching member clusters: a kube::Client built from a Cluster object and its Secret.
