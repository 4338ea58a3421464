//! OverridePolicy and ClusterOverridePolicy: which policies change a resource on its way to a
//! cluster, and the changes themselves. Pure functions; the binding controller applies them to
//! each cluster's copy before it renders the Work.
//!
//! Order, as Karmada's override manager does it:
//! 1. ClusterOverridePolicies first, then the OverridePolicies of the template's namespace
//!    (later changes win, so a namespace's own policy has the last word).
//! 2. Within each kind, policies that select the resource less precisely go first: an empty
//!    `resourceSelectors` (all) or kind-only selector, then a labelSelector match, then a name
//!    match; ties by policy name ascending.
//! 3. Within a policy, `overrideRules` in order, each only if its `targetCluster` matches the
//!    cluster (unset matches every cluster). The deprecated `targetCluster` + `overriders` pair
//!    counts as one rule when `overrideRules` is empty.
//! 4. Within a rule: imageOverrider, commandOverrider, argsOverrider, labelsOverrider,
//!    annotationsOverrider, fieldOverrider, plaintext — each list in order.

use std::sync::Arc;

use kube::ResourceExt as _;
use kube::api::DynamicObject;
use kube::core::ApiResource;
use serde_json::{Value, json};

use super::matching::selector_score;
use super::placement;
use crate::api::Cluster;
use crate::api::override_policy::{
    ClusterOverridePolicy, CommandArgsOverrider, DocumentPatchOperation, FieldOverrider,
    ImageComponent, ImageOverrider, LabelAnnotationOverrider, OverridePolicy, OverrideSpec,
    OverriderOperator, Overriders, PlaintextOverrider,
};

/// Work annotation listing the OverridePolicies applied (Karmada's `AppliedOverrides`).
pub const ANNOTATION_APPLIED_OVERRIDES: &str = "policy.karmada.io/applied-overrides";
/// Work annotation listing the ClusterOverridePolicies applied.
pub const ANNOTATION_APPLIED_CLUSTER_OVERRIDES: &str =
    "policy.karmada.io/applied-cluster-overrides";

/// One matching rule of one policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    /// True for a ClusterOverridePolicy.
    pub cluster_scoped: bool,
    /// Empty for a ClusterOverridePolicy.
    pub namespace: String,
    pub name: String,
    pub overriders: Overriders,
}

impl Matched {
    /// `ns/name` for an OverridePolicy, `name` for a ClusterOverridePolicy.
    pub fn describe(&self) -> String {
        if self.cluster_scoped {
            format!("ClusterOverridePolicy {}", self.name)
        } else {
            format!("OverridePolicy {}/{}", self.namespace, self.name)
        }
    }
}

/// The rules that apply to `template` (of kind `resource`) in `cluster`, in application order.
pub fn select(
    template: &DynamicObject,
    resource: &ApiResource,
    cluster: &Cluster,
    cluster_policies: &[Arc<ClusterOverridePolicy>],
    policies: &[Arc<OverridePolicy>],
) -> Vec<Matched> {
    let template_ns = template.namespace().unwrap_or_default();
    let mut out = Vec::new();
    let cops = cluster_policies
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| (String::new(), p.name_any(), &p.spec));
    out.extend(select_from(true, cops, template, resource, cluster));
    if !template_ns.is_empty() {
        let ops = policies
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.namespace().as_deref() == Some(template_ns.as_str()))
            .map(|p| (p.namespace().unwrap_or_default(), p.name_any(), &p.spec));
        out.extend(select_from(false, ops, template, resource, cluster));
    }
    out
}

fn select_from<'a>(
    cluster_scoped: bool,
    policies: impl Iterator<Item = (String, String, &'a OverrideSpec)>,
    template: &DynamicObject,
    resource: &ApiResource,
    cluster: &Cluster,
) -> Vec<Matched> {
    let mut ranked: Vec<(u8, String, String, &OverrideSpec)> = policies
        .filter_map(|(ns, name, spec)| {
            let score = if spec.resource_selectors.is_empty() {
                Some(1)
            } else {
                let policy_ns = (!cluster_scoped).then_some(ns.as_str());
                spec.resource_selectors
                    .iter()
                    .filter_map(|s| selector_score(s, template, resource, policy_ns))
                    .max()
            };
            score.map(|s| (s, name, ns, spec))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    for (_, name, ns, spec) in ranked {
        let legacy;
        let rules: Vec<(Option<&crate::api::policy::ClusterAffinity>, &Overriders)> =
            if spec.override_rules.is_empty() {
                legacy = (spec.target_cluster.as_ref(), &spec.overriders);
                vec![legacy]
            } else {
                spec.override_rules
                    .iter()
                    .map(|r| (r.target_cluster.as_ref(), &r.overriders))
                    .collect()
            };
        for (target, overriders) in rules {
            if target.is_none_or(|a| placement::affinity_matches(cluster, a).is_ok()) {
                out.push(Matched {
                    cluster_scoped,
                    namespace: ns.clone(),
                    name: name.clone(),
                    overriders: overriders.clone(),
                });
            }
        }
    }
    out
}

/// Applies every matched rule to `obj` in order. On success returns the Work annotations that
/// record what was applied (absent when nothing was); on failure, which policy failed and why.
pub fn apply_all(
    obj: &mut Value,
    matched: &[Matched],
) -> Result<Vec<(&'static str, String)>, String> {
    for m in matched {
        apply(obj, &m.overriders).map_err(|e| format!("{} failed: {e}", m.describe()))?;
    }
    let record = |cluster_scoped: bool| {
        let mut items: Vec<Value> = matched
            .iter()
            .filter(|m| m.cluster_scoped == cluster_scoped)
            .map(|m| json!({"policyName": m.name, "overriders": m.overriders}))
            .collect();
        items.sort_by(|a, b| a["policyName"].as_str().cmp(&b["policyName"].as_str()));
        (!items.is_empty()).then(|| Value::Array(items).to_string())
    };
    let mut annotations = Vec::new();
    if let Some(v) = record(true) {
        annotations.push((ANNOTATION_APPLIED_CLUSTER_OVERRIDES, v));
    }
    if let Some(v) = record(false) {
        annotations.push((ANNOTATION_APPLIED_OVERRIDES, v));
    }
    Ok(annotations)
}

/// Applies one rule's overriders in Karmada's order.
pub fn apply(obj: &mut Value, o: &Overriders) -> Result<(), String> {
    for i in &o.image_overrider {
        image(obj, i)?;
    }
    for c in &o.command_overrider {
        command_args(obj, "command", c)?;
    }
    for c in &o.args_overrider {
        command_args(obj, "args", c)?;
    }
    for l in &o.labels_overrider {
        label_annotation(obj, "labels", l)?;
    }
    for a in &o.annotations_overrider {
        label_annotation(obj, "annotations", a)?;
    }
    for f in &o.field_overrider {
        field(obj, f)?;
    }
    plaintext(obj, &o.plaintext)
}

// ---------------------------------------------------------------------------------------------
// JSON pointer and patch (RFC 6901 / RFC 6902 add, replace, remove)

fn tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path {path:?} must start with '/'"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn index(token: &str, len: usize, path: &str) -> Result<usize, String> {
    let i: usize = token
        .parse()
        .map_err(|_| format!("{path}: {token:?} is not an array index"))?;
    if i >= len {
        return Err(format!("{path}: index {i} is out of range (length {len})"));
    }
    Ok(i)
}

/// The value at `path`, if any.
pub fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens(path).ok()? {
        cur = match cur {
            Value::Object(m) => m.get(&t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// One JSON-patch operation on `doc`. `add` needs the parent to exist (an array index may be
/// `-` to append); `replace` and `remove` need the target to exist.
pub fn patch(
    doc: &mut Value,
    op: OverriderOperator,
    path: &str,
    value: Option<&Value>,
) -> Result<(), String> {
    let mut toks = tokens(path)?;
    let value = match op {
        OverriderOperator::Remove => None,
        _ => Some(
            value
                .cloned()
                .ok_or_else(|| format!("{path}: {op:?} needs a value").to_lowercase())?,
        ),
    };
    let Some(last) = toks.pop() else {
        return match value {
            Some(v) => {
                *doc = v;
                Ok(())
            }
            None => Err("cannot remove the whole document".into()),
        };
    };
    let mut parent = &mut *doc;
    for t in &toks {
        parent = match parent {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("{path}: {t:?} does not exist"))?,
            Value::Array(a) => {
                let i = index(t, a.len(), path)?;
                &mut a[i]
            }
            _ => return Err(format!("{path}: {t:?} is inside a scalar")),
        };
    }
    match (parent, op) {
        (Value::Object(m), OverriderOperator::Add) => {
            m.insert(last, value.expect("add has a value"));
        }
        (Value::Object(m), OverriderOperator::Replace) => {
            let slot = m
                .get_mut(&last)
                .ok_or_else(|| format!("{path}: nothing to replace"))?;
            *slot = value.expect("replace has a value");
        }
        (Value::Object(m), OverriderOperator::Remove) => {
            m.remove(&last)
                .ok_or_else(|| format!("{path}: nothing to remove"))?;
        }
        (Value::Array(a), OverriderOperator::Add) => {
            let v = value.expect("add has a value");
            if last == "-" {
                a.push(v);
            } else {
                let i = index(&last, a.len() + 1, path)?;
                a.insert(i, v);
            }
        }
        (Value::Array(a), OverriderOperator::Replace) => {
            let i = index(&last, a.len(), path)?;
            a[i] = value.expect("replace has a value");
        }
        (Value::Array(a), OverriderOperator::Remove) => {
            let i = index(&last, a.len(), path)?;
            a.remove(i);
        }
        _ => return Err(format!("{path}: parent is not an object or array")),
    }
    Ok(())
}

fn plaintext(obj: &mut Value, ops: &[PlaintextOverrider]) -> Result<(), String> {
    // Karmada applies the list as one JSON patch: all or nothing.
    let mut work = obj.clone();
    for p in ops {
        patch(&mut work, p.operator, &p.path, p.value.as_ref())
            .map_err(|e| format!("plaintext: {e}"))?;
    }
    *obj = work;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Images

/// `[registry/]repository[:tag|@digest]`, split like Karmada's image parser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

impl Image {
    pub fn parse(image: &str) -> Result<Image, String> {
        if image.is_empty() {
            return Err("empty image reference".into());
        }
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, d.to_string()),
            None => (image, String::new()),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], rest[i + 1..].to_string()),
            _ => (rest, String::new()),
        };
        if name.is_empty() {
            return Err(format!("image {image:?} has no repository"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((host, repo)) if host.contains(['.', ':']) || host == "localhost" => {
                (host.to_string(), repo.to_string())
            }
            _ => (String::new(), name.to_string()),
        };
        // A reference with both keeps the tag, like Karmada's parser.
        let digest = if tag.is_empty() {
            digest
        } else {
            String::new()
        };
        Ok(Image {
            registry,
            repository,
            tag,
            digest,
        })
    }

    fn tag_or_digest(&self) -> &str {
        if self.tag.is_empty() {
            &self.digest
        } else {
            &self.tag
        }
    }

    /// Sets a tag (`1.2`) or a digest (`sha256:...`); anything else is ignored, as in Karmada.
    fn set_tag_or_digest(&mut self, v: &str) {
        if is_tag(v) {
            self.tag = v.into();
            self.digest.clear();
        } else if is_digest(v) {
            self.digest = v.into();
            self.tag.clear();
        }
    }
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.registry.is_empty() {
            write!(f, "{}/", self.registry)?;
        }
        write!(f, "{}", self.repository)?;
        if !self.tag.is_empty() {
            write!(f, ":{}", self.tag)
        } else if !self.digest.is_empty() {
            write!(f, "@{}", self.digest)
        } else {
            Ok(())
        }
    }
}

fn is_tag(v: &str) -> bool {
    let mut chars = v.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && v.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_digest(v: &str) -> bool {
    let Some((algo, hex)) = v.split_once(':') else {
        return false;
    };
    algo.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && algo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'))
        && hex.len() >= 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// The image after one overrider.
pub fn override_image(current: &str, o: &ImageOverrider) -> Result<String, String> {
    let mut img = Image::parse(current)?;
    match (o.component, o.operator) {
        (ImageComponent::Registry, OverriderOperator::Add) => img.registry.push_str(&o.value),
        (ImageComponent::Registry, OverriderOperator::Replace) => img.registry = o.value.clone(),
        (ImageComponent::Registry, OverriderOperator::Remove) => img.registry.clear(),
        (ImageComponent::Repository, OverriderOperator::Add) => img.repository.push_str(&o.value),
        (ImageComponent::Repository, OverriderOperator::Replace) => {
            img.repository = o.value.clone()
        }
        (ImageComponent::Repository, OverriderOperator::Remove) => img.repository.clear(),
        (ImageComponent::Tag, OverriderOperator::Add) => {
            let v = format!("{}{}", img.tag_or_digest(), o.value);
            img.set_tag_or_digest(&v);
        }
        (ImageComponent::Tag, OverriderOperator::Replace) => img.set_tag_or_digest(&o.value),
        (ImageComponent::Tag, OverriderOperator::Remove) => {
            if img.tag.is_empty() {
                img.digest.clear();
            } else {
                img.tag.clear();
            }
        }
    }
    Ok(img.to_string())
}

/// Where a kind keeps its pod spec, for the overriders that work on containers.
fn pod_spec_path(obj: &Value) -> Option<&'static str> {
    match obj.get("kind").and_then(Value::as_str)? {
        "Pod" => Some("/spec"),
        "ReplicaSet" | "Deployment" | "DaemonSet" | "StatefulSet" | "Job" => {
            Some("/spec/template/spec")
        }
        _ => None,
    }
}

fn image(obj: &mut Value, o: &ImageOverrider) -> Result<(), String> {
    let paths: Vec<String> = match &o.predicate {
        Some(p) => vec![p.path.clone()],
        None => {
            let Some(prefix) = pod_spec_path(obj) else {
                return Ok(()); // no well-known containers in this kind
            };
            let n = get(obj, &format!("{prefix}/containers"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            (0..n)
                .map(|i| format!("{prefix}/containers/{i}/image"))
                .filter(|p| get(obj, p).is_some())
                .collect()
        }
    };
    for path in paths {
        let current = get(obj, &path)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("imageOverrider: no image string at {path}"))?;
        let new = override_image(current, o).map_err(|e| format!("imageOverrider: {e}"))?;
        patch(obj, OverriderOperator::Replace, &path, Some(&json!(new)))?;
    }
    Ok(())
}

fn command_args(obj: &mut Value, field: &str, o: &CommandArgsOverrider) -> Result<(), String> {
    let Some(prefix) = pod_spec_path(obj) else {
        return Ok(());
    };
    let containers = format!("{prefix}/containers");
    let n = get(obj, &containers)
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    for i in 0..n {
        let c = &get(obj, &format!("{containers}/{i}")).expect("in range");
        if c.get("name").and_then(Value::as_str) != Some(o.container_name.as_str()) {
            continue;
        }
        let current: Vec<String> = c
            .get(field)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let new: Vec<String> = match o.operator {
            OverriderOperator::Add => current.into_iter().chain(o.value.clone()).collect(),
            OverriderOperator::Remove => current
                .into_iter()
                .filter(|v| !o.value.contains(v))
                .collect(),
            OverriderOperator::Replace => {
                return Err(format!(
                    "{field}Overrider: operator replace is not supported; use add or remove"
                ));
            }
        };
        patch(
            obj,
            OverriderOperator::Add,
            &format!("{containers}/{i}/{field}"),
            Some(&json!(new)),
        )?;
    }
    Ok(())
}

fn label_annotation(
    obj: &mut Value,
    field: &str,
    o: &LabelAnnotationOverrider,
) -> Result<(), String> {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Err("the resource has no metadata".into());
    };
    if o.operator == OverriderOperator::Add && !meta.get(field).is_some_and(Value::is_object) {
        meta.insert(field.into(), json!({}));
    }
    let Some(map) = meta.get_mut(field).and_then(Value::as_object_mut) else {
        return Ok(()); // nothing to replace or remove
    };
    for (k, v) in &o.value {
        match o.operator {
            OverriderOperator::Add => {
                map.insert(k.clone(), json!(v));
            }
            OverriderOperator::Replace => {
                if let Some(slot) = map.get_mut(k) {
                    *slot = json!(v);
                }
            }
            OverriderOperator::Remove => {
                map.remove(k);
            }
        }
    }
    Ok(())
}

fn field(obj: &mut Value, f: &FieldOverrider) -> Result<(), String> {
    let what = |e: String| format!("fieldOverrider {}: {e}", f.field_path);
    let text = get(obj, &f.field_path)
        .ok_or_else(|| what("the field does not exist".into()))?
        .as_str()
        .ok_or_else(|| what("the field is not a string".into()))?;
    let new = if !f.yaml.is_empty() {
        let mut doc: Value =
            serde_yaml::from_str(text).map_err(|e| what(format!("not YAML: {e}")))?;
        document_patch(&mut doc, &f.yaml).map_err(what)?;
        serde_yaml::to_string(&doc).map_err(|e| what(e.to_string()))?
    } else if !f.json.is_empty() {
        let mut doc: Value =
            serde_json::from_str(text).map_err(|e| what(format!("not JSON: {e}")))?;
        document_patch(&mut doc, &f.json).map_err(what)?;
        doc.to_string()
    } else {
        return Ok(());
    };
    patch(
        obj,
        OverriderOperator::Replace,
        &f.field_path,
        Some(&json!(new)),
    )
}

fn document_patch(doc: &mut Value, ops: &[DocumentPatchOperation]) -> Result<(), String> {
    for op in ops {
        patch(doc, op.operator, &op.sub_path, op.value.as_ref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::override_policy::{ImagePredicate, RuleWithCluster};
    use crate::api::policy::{ClusterAffinity, ResourceSelector};
    use std::collections::BTreeMap;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.25", "args": ["-g", "daemon off;"]},
                {"name": "sidecar", "image": "docker.io/library/envoy@sha256:0123456789abcdef0123456789abcdef"}
            ]}}}
        })
    }

    fn img(component: ImageComponent, operator: OverriderOperator, value: &str) -> ImageOverrider {
        ImageOverrider {
            predicate: None,
            component,
            operator,
            value: value.into(),
        }
    }

    #[test]
    fn image_references_split_like_karmada() {
        let i = Image::parse("registry.example.com:5000/team/app:v1").unwrap();
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str(), i.tag.as_str()),
            ("registry.example.com:5000", "team/app", "v1")
        );
        let i = Image::parse("library/nginx").unwrap();
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str()),
            ("", "library/nginx")
        );
        let i = Image::parse("localhost/app@sha256:0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(i.registry, "localhost");
        assert_eq!(i.digest, "sha256:0123456789abcdef0123456789abcdef");
        assert_eq!(
            i.to_string(),
            "localhost/app@sha256:0123456789abcdef0123456789abcdef"
        );
    }

    #[test]
    fn image_overrider_components_and_operators() {
        use ImageComponent::*;
        use OverriderOperator::*;
        let o = |c, op, v| override_image("docker.io/nginx:1.25", &img(c, op, v)).unwrap();
        assert_eq!(o(Registry, Replace, "mirror.eu"), "mirror.eu/nginx:1.25");
        assert_eq!(o(Registry, Add, "-cn"), "docker.io-cn/nginx:1.25");
        assert_eq!(o(Registry, Remove, ""), "nginx:1.25");
        assert_eq!(
            o(Repository, Replace, "web/nginx"),
            "docker.io/web/nginx:1.25"
        );
        assert_eq!(o(Repository, Add, "-slim"), "docker.io/nginx-slim:1.25");
        assert_eq!(o(Tag, Replace, "1.27"), "docker.io/nginx:1.27");
        assert_eq!(o(Tag, Add, "-alpine"), "docker.io/nginx:1.25-alpine");
        assert_eq!(o(Tag, Remove, ""), "docker.io/nginx");
        // No registry yet: replace adds one.
        assert_eq!(
            override_image("nginx", &img(Registry, Replace, "m.io")).unwrap(),
            "m.io/nginx"
        );
    }

    #[test]
    fn image_overrider_changes_every_container_or_the_predicate_path() {
        let mut d = deployment();
        image(
            &mut d,
            &img(
                ImageComponent::Registry,
                OverriderOperator::Replace,
                "mirror.eu",
            ),
        )
        .unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("mirror.eu/nginx:1.25"))
        );
        assert_eq!(
            d.pointer("/spec/template/spec/containers/1/image"),
            Some(&json!(
                "mirror.eu/library/envoy@sha256:0123456789abcdef0123456789abcdef"
            ))
        );
        let mut d = deployment();
        let only_first = ImageOverrider {
            predicate: Some(ImagePredicate {
                path: "/spec/template/spec/containers/0/image".into(),
            }),
            ..img(ImageComponent::Tag, OverriderOperator::Replace, "1.27")
        };
        image(&mut d, &only_first).unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("nginx:1.27"))
        );
        assert!(
            d.pointer("/spec/template/spec/containers/1/image")
                .unwrap()
                .as_str()
                .unwrap()
                .contains("@sha256")
        );
        // A kind without containers is left alone.
        let mut cm = json!({"kind": "ConfigMap", "metadata": {"name": "c"}});
        image(
            &mut cm,
            &img(ImageComponent::Tag, OverriderOperator::Replace, "x"),
        )
        .unwrap();
        assert_eq!(cm, json!({"kind": "ConfigMap", "metadata": {"name": "c"}}));
    }

    #[test]
    fn command_and_args_overriders_by_container_name() {
        let mut d = deployment();
        let add = CommandArgsOverrider {
            container_name: "nginx".into(),
            operator: OverriderOperator::Add,
            value: vec!["--verbose".into()],
        };
        command_args(&mut d, "args", &add).unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/args"),
            Some(&json!(["-g", "daemon off;", "--verbose"]))
        );
        let remove = CommandArgsOverrider {
            operator: OverriderOperator::Remove,
            value: vec!["-g".into(), "daemon off;".into()],
            ..add.clone()
        };
        command_args(&mut d, "args", &remove).unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/args"),
            Some(&json!(["--verbose"]))
        );
        // No command yet: add creates it; other containers untouched.
        let cmd = CommandArgsOverrider {
            container_name: "sidecar".into(),
            operator: OverriderOperator::Add,
            value: vec!["envoy".into(), "-c".into()],
        };
        command_args(&mut d, "command", &cmd).unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/1/command"),
            Some(&json!(["envoy", "-c"]))
        );
        assert!(
            d.pointer("/spec/template/spec/containers/0/command")
                .is_none()
        );
    }

    #[test]
    fn labels_and_annotations_overriders() {
        let mut d = deployment();
        let v = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let add = LabelAnnotationOverrider {
            operator: OverriderOperator::Add,
            value: v(&[("tier", "web"), ("example.com/team", "a")]),
        };
        label_annotation(&mut d, "labels", &add).unwrap();
        assert_eq!(
            d.pointer("/metadata/labels/example.com~1team"),
            Some(&json!("a"))
        );
        let replace = LabelAnnotationOverrider {
            operator: OverriderOperator::Replace,
            value: v(&[("tier", "edge"), ("absent", "x")]),
        };
        label_annotation(&mut d, "labels", &replace).unwrap();
        assert_eq!(d.pointer("/metadata/labels/tier"), Some(&json!("edge")));
        assert!(
            d.pointer("/metadata/labels/absent").is_none(),
            "replace does not add"
        );
        let remove = LabelAnnotationOverrider {
            operator: OverriderOperator::Remove,
            value: v(&[("app", "")]),
        };
        label_annotation(&mut d, "labels", &remove).unwrap();
        assert!(d.pointer("/metadata/labels/app").is_none());
        // Annotations map created on add.
        label_annotation(&mut d, "annotations", &add).unwrap();
        assert_eq!(d.pointer("/metadata/annotations/tier"), Some(&json!("web")));
    }

    #[test]
    fn field_overrider_patches_json_and_yaml_documents() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"app.yaml": "db:\n  host: localhost\n  port: 5432\n", "app.json": "{\"level\":\"info\",\"tags\":[\"a\"]}"}});
        let yaml = FieldOverrider {
            field_path: "/data/app.yaml".into(),
            yaml: vec![
                DocumentPatchOperation {
                    sub_path: "/db/host".into(),
                    operator: OverriderOperator::Replace,
                    value: Some(json!("db.eu.internal")),
                },
                DocumentPatchOperation {
                    sub_path: "/db/port".into(),
                    operator: OverriderOperator::Remove,
                    value: None,
                },
            ],
            json: vec![],
        };
        field(&mut cm, &yaml).unwrap();
        assert_eq!(
            cm["data"]["app.yaml"],
            json!("db:\n  host: db.eu.internal\n")
        );
        let js = FieldOverrider {
            field_path: "/data/app.json".into(),
            json: vec![
                DocumentPatchOperation {
                    sub_path: "/level".into(),
                    operator: OverriderOperator::Replace,
                    value: Some(json!("debug")),
                },
                DocumentPatchOperation {
                    sub_path: "/tags/-".into(),
                    operator: OverriderOperator::Add,
                    value: Some(json!("eu")),
                },
            ],
            yaml: vec![],
        };
        field(&mut cm, &js).unwrap();
        assert_eq!(
            cm["data"]["app.json"],
            json!("{\"level\":\"debug\",\"tags\":[\"a\",\"eu\"]}")
        );
        let missing = FieldOverrider {
            field_path: "/data/absent".into(),
            ..js.clone()
        };
        assert!(
            field(&mut cm, &missing)
                .unwrap_err()
                .contains("does not exist")
        );
    }

    #[test]
    fn plaintext_is_json_patch_all_or_nothing() {
        let mut d = deployment();
        let ops = vec![
            PlaintextOverrider {
                path: "/spec/replicas".into(),
                operator: OverriderOperator::Replace,
                value: Some(json!(5)),
            },
            PlaintextOverrider {
                path: "/metadata/annotations".into(),
                operator: OverriderOperator::Add,
                value: Some(json!({"a": "b"})),
            },
            PlaintextOverrider {
                path: "/spec/template/spec/containers/0/args/0".into(),
                operator: OverriderOperator::Remove,
                value: None,
            },
        ];
        plaintext(&mut d, &ops).unwrap();
        assert_eq!(d["spec"]["replicas"], 5);
        assert_eq!(d["metadata"]["annotations"]["a"], "b");
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/args"),
            Some(&json!(["daemon off;"]))
        );
        let before = d.clone();
        let bad = vec![
            PlaintextOverrider {
                path: "/spec/replicas".into(),
                operator: OverriderOperator::Replace,
                value: Some(json!(9)),
            },
            PlaintextOverrider {
                path: "/spec/nothing/here".into(),
                operator: OverriderOperator::Add,
                value: Some(json!(1)),
            },
        ];
        assert!(plaintext(&mut d, &bad).is_err());
        assert_eq!(d, before, "a failed patch changes nothing");
    }

    #[test]
    fn overriders_run_in_karmada_order() {
        // plaintext runs last, so it sees the image the imageOverrider wrote.
        let mut d = deployment();
        let o = Overriders {
            image_overrider: vec![img(ImageComponent::Tag, OverriderOperator::Replace, "2")],
            plaintext: vec![PlaintextOverrider {
                path: "/spec/template/spec/containers/0/image".into(),
                operator: OverriderOperator::Replace,
                value: Some(json!("final:1")),
            }],
            ..Default::default()
        };
        apply(&mut d, &o).unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("final:1"))
        );
    }

    fn cluster(name: &str, labels: &[(&str, &str)]) -> Cluster {
        let mut c = Cluster::new(name, Default::default());
        c.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        c
    }

    fn spec(
        selectors: Vec<ResourceSelector>,
        rules: Vec<(Option<ClusterAffinity>, &str)>,
    ) -> OverrideSpec {
        OverrideSpec {
            resource_selectors: selectors,
            override_rules: rules
                .into_iter()
                .map(|(t, tag)| RuleWithCluster {
                    target_cluster: t,
                    overriders: Overriders {
                        image_overrider: vec![img(
                            ImageComponent::Tag,
                            OverriderOperator::Replace,
                            tag,
                        )],
                        ..Default::default()
                    },
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn selection_orders_cluster_policies_first_then_precision_then_name() {
        let template: DynamicObject = serde_json::from_value(deployment()).unwrap();
        let resource = ApiResource {
            group: "apps".into(),
            version: "v1".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
        };
        let by_name = ResourceSelector {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "nginx".into(),
            ..Default::default()
        };
        let by_kind = ResourceSelector {
            name: String::new(),
            ..by_name.clone()
        };
        let other = ResourceSelector {
            name: "other".into(),
            ..by_name.clone()
        };
        let eu = ClusterAffinity {
            cluster_names: vec!["eu".into()],
            ..Default::default()
        };
        let op = |name: &str, ns: &str, s: OverrideSpec| {
            let mut p = OverridePolicy::new(name, s);
            p.metadata.namespace = Some(ns.into());
            Arc::new(p)
        };
        let ops = vec![
            op(
                "a-exact",
                "default",
                spec(vec![by_name.clone()], vec![(None, "exact")]),
            ),
            op(
                "z-kind",
                "default",
                spec(
                    vec![by_kind.clone()],
                    vec![(Some(eu.clone()), "kind-eu"), (None, "kind-all")],
                ),
            ),
            op(
                "b-other",
                "default",
                spec(vec![other], vec![(None, "other")]),
            ),
            op("elsewhere", "prod", spec(vec![], vec![(None, "prod")])),
        ];
        let cops = vec![Arc::new(ClusterOverridePolicy::new(
            "global",
            spec(vec![], vec![(None, "global")]),
        ))];
        let names = |c: &Cluster| -> Vec<String> {
            select(&template, &resource, c, &cops, &ops)
                .iter()
                .map(|m| m.overriders.image_overrider[0].value.clone())
                .collect()
        };
        assert_eq!(
            names(&cluster("eu", &[])),
            vec!["global", "kind-eu", "kind-all", "exact"]
        );
        assert_eq!(
            names(&cluster("us", &[])),
            vec!["global", "kind-all", "exact"]
        );
        let mut d = deployment();
        let matched = select(&template, &resource, &cluster("eu", &[]), &cops, &ops);
        let annotations = apply_all(&mut d, &matched).unwrap();
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("nginx:exact"))
        );
        assert_eq!(annotations[0].0, ANNOTATION_APPLIED_CLUSTER_OVERRIDES);
        assert!(
            annotations[1].1.starts_with("[{\"overriders\""),
            "{}",
            annotations[1].1
        );
        assert!(annotations[1].1.contains("\"policyName\":\"a-exact\""));
    }
}
