//! Start-up errors: what keeps an [`Authorizer`](crate::Authorizer) from being built.

use l42_cedar::PolicyConfig;
use l42_core::ConfigError;

/// Start-up failed: bad configuration or an unusable policy store.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// An environment variable is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Cedar schema or policies cannot be used: the variable that chose them
    /// (`CEDAR_POLICY_DIR`, `CEDAR_APPLICATION`; `None` for the embedded example), and why.
    #[error("{}{source}", Var(*var))]
    Policies {
        /// The variable at fault.
        var: Option<&'static str>,
        /// What is wrong.
        source: Box<l42_cedar::LoadError>,
    },
}

impl StartupError {
    /// A policy store error, with the variable that chose the store.
    pub(crate) fn policies(config: &PolicyConfig, source: l42_cedar::LoadError) -> StartupError {
        use l42_cedar::LoadError;
        let var = match &source {
            LoadError::EnvNotUnicode { name } => Some(*name),
            LoadError::Application { .. } => Some(PolicyConfig::APPLICATION_VAR),
            _ if config.policy_dir.is_some() => Some(PolicyConfig::POLICY_DIR_VAR),
            _ => None,
        };
        StartupError::Policies {
            var,
            source: Box::new(source),
        }
    }
}

/// What comes before a policy store error: the variable at fault, as a
/// [`ConfigError`] names it.
struct Var(Option<&'static str>);

impl std::fmt::Display for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(var) => write!(
                f,
                "invalid configuration: {var}: invalid Cedar policy store: "
            ),
            None => f.write_str("invalid embedded Cedar policy store: "),
        }
    }
}
