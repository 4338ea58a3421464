//! `karmadactl taint clusters NAME key[=value]:Effect ... key[:Effect]-`
//!
//! Taint specs are parsed here, without I/O, with kubectl's rules.

use std::collections::HashSet;

use clap::Args;
use k8s_openapi::api::core::v1::Taint;
use karmadactl::ops::taint::{self, TaintEdit, TaintRemoval};
use karmadactl::output;

use crate::GlobalArgs;
use crate::get::{check_name, check_resource};

/// The effects a cluster taint may have.
pub const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Update the taints on a member cluster
#[derive(Debug, Args)]
#[command(
    after_help = "A taint is key=value:Effect or key:Effect; Effect is NoSchedule, \
    PreferNoSchedule or NoExecute. A trailing '-' removes a taint: key:Effect- removes that \
    effect, key- removes every effect of the key.\n\n\
    Examples:\n  \
    karmadactl taint clusters member1 dedicated=gpu:NoSchedule\n  \
    karmadactl taint clusters member1 dedicated=ml:NoSchedule --overwrite\n  \
    karmadactl taint clusters member1 dedicated:NoSchedule-\n  \
    karmadactl taint clusters member1 dedicated-\n  \
    karmadactl taint clusters member1 dedicated=gpu:NoSchedule --dry-run"
)]
pub struct TaintArgs {
    /// Resource type: clusters (also cluster)
    #[arg(value_name = "TYPE")]
    pub resource: String,

    /// Name of the member cluster
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCompleter::new(crate::cluster_completer::cluster_names))]
    pub name: String,

    /// Taints to add (key[=value]:Effect) or remove (key[:Effect]-)
    #[arg(value_name = "TAINT")]
    pub taints: Vec<String>,

    /// Replace a taint with the same key and effect instead of failing
    #[arg(long)]
    pub overwrite: bool,

    /// Send the change as a server-side dry run: validated, nothing is changed
    #[arg(long)]
    pub dry_run: bool,
}

/// `key[=value][:effect]` as kubectl splits it; the effect is checked when present.
fn parse_one(spec: &str) -> anyhow::Result<Taint> {
    let invalid = |why: String| {
        anyhow::Error::new(crate::Usage(format!("invalid taint spec: {spec}, {why}")))
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (key, value, effect) = match parts.as_slice() {
        [kv] if kv.contains('=') => usage!(
            "invalid taint spec: {spec}, the effect is missing; write key=value:Effect with Effect one of {}",
            EFFECTS.join(", ")
        ),
        [key] => (*key, None, String::new()),
        [kv, effect] => {
            if !EFFECTS.contains(effect) {
                usage!(
                    "invalid taint effect: {effect}, unsupported taint effect; use {}",
                    EFFECTS.join(", ")
                );
            }
            let kv: Vec<&str> = kv.split('=').collect();
            match kv.as_slice() {
                [key] => (*key, None, effect.to_string()),
                [key, value] => {
                    if let Err(why) = check_label_value(value) {
                        return Err(invalid(why));
                    }
                    (*key, Some(value.to_string()), effect.to_string())
                }
                _ => usage!("invalid taint spec: {spec}"),
            }
        }
        _ => usage!("invalid taint spec: {spec}"),
    };
    check_qualified_name(key).map_err(invalid)?;
    Ok(Taint {
        key: key.to_string(),
        value: value.filter(|v| !v.is_empty()),
        effect,
        time_added: None,
    })
}

/// Splits specs into taints to add and taints to remove, with kubectl's checks.
pub fn parse_taints(specs: &[String], overwrite: bool) -> anyhow::Result<TaintEdit> {
    let mut edit = TaintEdit {
        overwrite,
        ..Default::default()
    };
    let mut unique: HashSet<(String, String)> = HashSet::new();
    for spec in specs {
        if let Some(rest) = spec.strip_suffix('-') {
            let t = parse_one(rest)?;
            edit.remove.push(TaintRemoval {
                key: t.key,
                effect: Some(t.effect).filter(|e| !e.is_empty()),
            });
        } else {
            let t = parse_one(spec)?;
            if t.effect.is_empty() {
                usage!(
                    "invalid taint spec: {spec}; a taint to add needs an effect: key[=value]:{}",
                    EFFECTS.join("|")
                );
            }
            if !unique.insert((t.key.clone(), t.effect.clone())) {
                usage!(
                    "duplicated taints with the same key and effect: {}:{}",
                    t.key,
                    t.effect
                );
            }
            edit.add.push(t);
        }
    }
    let conflicts: Vec<String> = edit
        .remove
        .iter()
        .filter(|r| {
            edit.add
                .iter()
                .any(|a| a.key == r.key && r.effect.as_ref().is_none_or(|e| *e == a.effect))
        })
        .map(|r| format!("{}={}", r.key, r.effect.as_deref().unwrap_or_default()))
        .collect();
    if !conflicts.is_empty() {
        usage!(
            "can not both modify and remove the following taint(s) in the same command: {}",
            conflicts.join(", ")
        );
    }
    Ok(edit)
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
fn check_name_part(s: &str) -> Result<(), String> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if s.is_empty() {
        return Err("name part must be non-empty".into());
    }
    if s.len() > 63 {
        return Err("name part must be no more than 63 characters".into());
    }
    let ok = s.starts_with(alnum)
        && s.ends_with(alnum)
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
             and end with an alphanumeric character"
                .into(),
        );
    }
    Ok(())
}

/// A Kubernetes qualified name: `[prefix/]name`, prefix a DNS subdomain.
fn check_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split('/').collect::<Vec<_>>().as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => {
            return Err(
                "a qualified name must consist of an optional DNS subdomain prefix and '/' and a name"
                    .into(),
            );
        }
    };
    if let Some(prefix) = prefix {
        let ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !ok {
            return Err("prefix part must be a lowercase DNS subdomain".into());
        }
    }
    check_name_part(name)
}

/// A label value: empty, or a name part.
fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_name_part(value).map_err(|e| e.replace("name part", "a valid label value"))
}

pub async fn run(args: TaintArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    check_resource(&args.resource, "taint")?;
    check_name(&args.name)?;
    if args.taints.is_empty() {
        usage!(
            "no taint given; usage: karmadactl taint clusters NAME KEY[=VALUE]:EFFECT or KEY[:EFFECT]-"
        );
    }
    let edit = parse_taints(&args.taints, args.overwrite)?;
    let line = taint::taint(&global.target(), &args.name, &edit, args.dry_run).await?;
    output::print(&format!("{line}\n"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(specs: &[&str]) -> anyhow::Result<TaintEdit> {
        parse_taints(
            &specs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            false,
        )
    }

    #[test]
    fn a_missing_effect_is_named() {
        let e = err(&["foo=bar"]);
        assert!(e.contains("the effect is missing"), "{e}");
    }

    fn err(specs: &[&str]) -> String {
        parse(specs).unwrap_err().to_string()
    }

    #[test]
    fn adds_with_and_without_value() {
        let edit = parse(&[
            "dedicated=gpu:NoSchedule",
            "example.com/spot:PreferNoSchedule",
        ])
        .unwrap();
        assert_eq!(edit.add.len(), 2);
        assert_eq!(edit.add[0].key, "dedicated");
        assert_eq!(edit.add[0].value.as_deref(), Some("gpu"));
        assert_eq!(edit.add[0].effect, "NoSchedule");
        assert_eq!(edit.add[1].key, "example.com/spot");
        assert_eq!(edit.add[1].value, None);
        assert!(edit.remove.is_empty());
    }

    #[test]
    fn removals_with_and_without_effect() {
        let edit = parse(&["dedicated:NoExecute-", "spot-"]).unwrap();
        assert_eq!(
            edit.remove,
            vec![
                TaintRemoval {
                    key: "dedicated".into(),
                    effect: Some("NoExecute".into())
                },
                TaintRemoval {
                    key: "spot".into(),
                    effect: None
                },
            ]
        );
    }

    #[test]
    fn bad_specs() {
        assert!(err(&["dedicated=gpu:Sometimes"]).contains("invalid taint effect: Sometimes"));
        assert!(err(&["dedicated=gpu"]).contains("invalid taint spec: dedicated=gpu"));
        assert!(err(&["dedicated"]).contains("needs an effect"));
        assert!(err(&["a:b:NoSchedule"]).contains("invalid taint spec"));
        assert!(err(&["a=b=c:NoSchedule"]).contains("invalid taint spec"));
        assert!(err(&["=v:NoSchedule"]).contains("invalid taint spec"));
        assert!(err(&["bad key:NoSchedule"]).contains("invalid taint spec"));
        assert!(err(&["k=bad value:NoSchedule"]).contains("label value"));
        assert!(err(&["Bad.Prefix/k:NoSchedule"]).contains("prefix"));
        assert!(err(&["k:Bad-"]).contains("invalid taint effect"));
        assert!(err(&["k=1:NoSchedule", "k=2:NoSchedule"]).contains("duplicated taints"));
        assert!(err(&["k=1:NoSchedule", "k-"]).contains("can not both modify and remove"));
        // Same key with different effects is fine.
        assert!(parse(&["k=1:NoSchedule", "k=1:NoExecute"]).is_ok());
        assert!(parse(&["k=1:NoSchedule", "k:NoExecute-"]).is_ok());
    }
}
