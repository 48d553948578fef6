//! The man page and the shell completions (`--generate`), made from the
//! one clap definition that `--help` prints.

use clap::CommandFactory;

use super::Config;
use super::features::Generate;

/// The text `--generate` prints for `what`.
pub fn generate(what: Generate) -> std::io::Result<Vec<u8>> {
    let mut command = Config::command();
    let mut out = Vec::new();
    let shell = match what {
        Generate::Man => {
            clap_mangen::Man::new(command).render(&mut out)?;
            return Ok(out);
        }
        Generate::Bash => clap_complete::Shell::Bash,
        Generate::Zsh => clap_complete::Shell::Zsh,
        Generate::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "staticd", &mut out);
    Ok(out)
}
