//! `karmadactl completion SHELL`: prints a script that asks karmadactl itself for
//! completions, so values such as cluster names come from the live control plane.

use clap::{Args, ValueEnum};
use clap_complete::env::{CompleteEnv, EnvCompleter, Shells};

/// The environment variable the registration scripts set when they call back.
const VAR: &str = "COMPLETE";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Powershell => "powershell",
            Shell::Elvish => "elvish",
        }
    }
}

/// Print a shell completion script
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  source <(karmadactl completion bash)\n  \
    karmadactl completion zsh > \"${fpath[1]}/_karmadactl\"\n  \
    karmadactl completion fish > ~/.config/fish/completions/karmadactl.fish")]
pub struct CompletionArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Answers a completion request from a registered script and exits; returns otherwise.
pub fn handle_env() {
    CompleteEnv::with_factory(crate::command)
        .var(VAR)
        .bin("karmadactl")
        .completer("karmadactl")
        .complete();
}

/// The registration script for `shell`; the same text is kept in completions/.
pub fn script(shell: Shell) -> String {
    let shells = Shells::builtins();
    let completer: &dyn EnvCompleter = shells
        .completer(shell.name())
        .expect("every Shell variant is a clap_complete builtin");
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, "karmadactl", "karmadactl", "karmadactl", &mut buf)
        .expect("writing to a Vec cannot fail");
    String::from_utf8(buf).expect("registration scripts are UTF-8")
}

pub fn run(args: CompletionArgs) -> anyhow::Result<()> {
    karmadactl::output::print(&script(args.shell));
    Ok(())
}
