//! Finding and parsing the schema and policy files.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use std::collections::HashMap;

use cedar_policy::{
    Policy, PolicyId, PolicySet, Schema, SchemaFragment, ValidationMode, Validator,
};
use serde_json::Value;

use crate::error::{LoadError, ValidationProblem, line_of, syntax_error_offset};

/// The shipped example schema.
pub(crate) const EMBEDDED_SCHEMA: (&str, &str) = (
    "schema/app.cedarschema",
    include_str!("../schema/app.cedarschema"),
);

/// The shipped example policies, sorted by name.
pub(crate) const EMBEDDED_POLICIES: [(&str, &str); 3] = [
    (
        "policies/admin.cedar",
        include_str!("../policies/admin.cedar"),
    ),
    (
        "policies/common.cedar",
        include_str!("../policies/common.cedar"),
    ),
    (
        "policies/orders.cedar",
        include_str!("../policies/orders.cedar"),
    ),
];

/// Where to load policies from, usually read from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Folder holding one `*.cedarschema` and the `*.cedar` files
    /// (`CEDAR_POLICY_DIR`); `None` uses the embedded example.
    pub policy_dir: Option<PathBuf>,
    /// The `Application` entity id (`CEDAR_APPLICATION`); `None` uses the
    /// schema's namespace name, as Amazon Verified Permissions does.
    pub application: Option<String>,
}

impl PolicyConfig {
    /// The variable naming the policy folder.
    pub const POLICY_DIR_VAR: &'static str = "CEDAR_POLICY_DIR";
    /// The variable naming the application.
    pub const APPLICATION_VAR: &'static str = "CEDAR_APPLICATION";

    /// Reads `CEDAR_POLICY_DIR` and `CEDAR_APPLICATION`. An unset or empty
    /// variable means "not configured".
    ///
    /// # Errors
    /// [`LoadError::EnvNotUnicode`] if a variable is not valid UTF-8.
    pub fn from_env() -> Result<Self, LoadError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Like [`from_env`](Self::from_env) but reading variables through `lookup`.
    ///
    /// # Errors
    /// [`LoadError::EnvNotUnicode`] if a value is not valid UTF-8.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, LoadError> {
        let read = |name: &'static str| -> Result<Option<String>, LoadError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => {
                    let v = v
                        .into_string()
                        .map_err(|_| LoadError::EnvNotUnicode { name })?;
                    Ok((!v.is_empty()).then_some(v))
                }
            }
        };
        Ok(Self {
            policy_dir: read(Self::POLICY_DIR_VAR)?.map(PathBuf::from),
            application: read(Self::APPLICATION_VAR)?,
        })
    }
}

/// One source text with its display name and id stem.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) name: String,
    pub(crate) text: String,
}

impl SourceFile {
    fn stem(&self) -> String {
        Path::new(&self.name)
            .file_stem()
            .map_or_else(|| self.name.clone(), |s| s.to_string_lossy().into_owned())
    }
}

fn io_error(path: &Path, source: std::io::Error) -> LoadError {
    LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the schema and policy files of a folder (policies sorted by name).
pub(crate) fn read_dir(dir: &Path) -> Result<(SourceFile, Vec<SourceFile>), LoadError> {
    let mut schemas = Vec::new();
    let mut policies = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        let ext = path.extension().and_then(|e| e.to_str());
        let bucket = match ext {
            Some("cedarschema") => &mut schemas,
            Some("cedar") => &mut policies,
            _ => continue,
        };
        let meta = std::fs::metadata(&path).map_err(|e| io_error(&path, e))?;
        if meta.is_file() {
            bucket.push(path);
        }
    }
    schemas.sort();
    policies.sort();
    let schema_path = match schemas.as_slice() {
        [] => {
            return Err(LoadError::NoSchema {
                dir: dir.to_path_buf(),
            });
        }
        [one] => one.clone(),
        several => {
            return Err(LoadError::SeveralSchemas {
                dir: dir.to_path_buf(),
                files: several.iter().map(|p| p.display().to_string()).collect(),
            });
        }
    };
    if policies.is_empty() {
        return Err(LoadError::NoPolicies {
            dir: dir.to_path_buf(),
        });
    }
    let read = |path: &PathBuf| -> Result<SourceFile, LoadError> {
        Ok(SourceFile {
            name: path.display().to_string(),
            text: std::fs::read_to_string(path).map_err(|e| io_error(path, e))?,
        })
    };
    let schema = read(&schema_path)?;
    let policies = policies.iter().map(read).collect::<Result<_, _>>()?;
    Ok((schema, policies))
}

/// Parses a `.cedarschema` file once: the fragment gives both the schema (exactly as
/// `Schema::from_cedarschema_str` builds it from the same fragment) and its JSON form,
/// which the loaders read for what cedar-policy does not expose. Parsing the text is most
/// of the start-up, so it is done only here.
pub(crate) fn parse_schema(file: &SourceFile) -> Result<(Schema, Value), LoadError> {
    let src = file.text.as_str();
    let schema_error = |message: String, debug: String| LoadError::SchemaParse {
        file: file.name.clone(),
        line: syntax_error_offset(&debug).map(|o| line_of(src, o)),
        message,
    };
    let (fragment, _warnings) = SchemaFragment::from_cedarschema_str(src)
        .map_err(|e| schema_error(e.to_string(), format!("{e:?}")))?;
    let json_text = fragment.to_json_string();
    let schema = Schema::from_schema_fragments([fragment])
        .map_err(|e| schema_error(e.to_string(), format!("{e:?}")))?;
    let json: Value = json_text
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|message| LoadError::Internal {
            during: "converting the schema to JSON",
            message,
        })?;
    Ok((schema, json))
}

/// Every policy of `files` with its id (unique across the files) and place, assembled
/// into one set and, with `validate_against`, validated strictly against that schema
/// (every problem named with its file and line).
pub(crate) fn load_policies(
    files: &[SourceFile],
    validate_against: Option<&Schema>,
) -> Result<(PolicySet, Vec<LocatedPolicy>), LoadError> {
    let mut located: Vec<LocatedPolicy> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for f in files {
        for p in parse_policy_file(f)? {
            if let Some(first_file) = seen.get(&p.id) {
                return Err(LoadError::DuplicatePolicyId {
                    file: p.file,
                    line: p.line,
                    id: p.id,
                    first_file: first_file.clone(),
                });
            }
            seen.insert(p.id.clone(), p.file.clone());
            located.push(p);
        }
    }
    let policies =
        PolicySet::from_policies(located.iter().map(|p| p.policy.clone())).map_err(|e| {
            LoadError::Internal {
                during: "assembling the policy set",
                message: e.to_string(),
            }
        })?;
    let Some(schema) = validate_against else {
        return Ok((policies, located));
    };
    let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
    if !result.validation_passed() {
        let by_id: HashMap<&str, &LocatedPolicy> =
            located.iter().map(|p| (p.id.as_str(), p)).collect();
        let problems = result
            .validation_errors()
            .map(|e| {
                let id = e.policy_id().to_string();
                let at = by_id.get(id.as_str());
                ValidationProblem {
                    file: at.map_or_else(String::new, |p| p.file.clone()),
                    line: at.and_then(|p| p.line),
                    policy_id: id,
                    message: e.to_string(),
                }
            })
            .collect();
        return Err(LoadError::Validation { problems });
    }
    Ok((policies, located))
}

/// A parsed policy with its final id and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct LocatedPolicy {
    pub(crate) policy: Policy,
    pub(crate) id: String,
    pub(crate) file: String,
    pub(crate) line: Option<usize>,
}

/// Byte ranges of the `...;` statements of a policy file, skipping comments
/// and strings when looking for `;`. Used only to locate errors.
fn statement_spans(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' => {
                start.get_or_insert(i);
                i += 1;
                while let Some(&c) = b.get(i) {
                    if c == b'\\' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if c == b'"' {
                        break;
                    }
                }
            }
            b';' => {
                spans.push((start.unwrap_or(i), i + 1));
                start = None;
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                start.get_or_insert(i);
                i += 1;
            }
        }
    }
    if let Some(s) = start {
        spans.push((s, b.len()));
    }
    spans
}

/// Locates a parse error: the exact position when Cedar's syntax error
/// carries one, else the start of the first statement that fails alone.
fn parse_error_line(src: &str, debug: &str) -> Option<usize> {
    if let Some(offset) = syntax_error_offset(debug) {
        return Some(line_of(src, offset));
    }
    statement_spans(src).into_iter().find_map(|(start, end)| {
        let chunk = src.get(start..end)?;
        PolicySet::from_str(chunk)
            .is_err()
            .then(|| line_of(src, start))
    })
}

/// Parses one policy file into static policies with their final ids.
pub(crate) fn parse_policy_file(file: &SourceFile) -> Result<Vec<LocatedPolicy>, LoadError> {
    let src = file.text.as_str();
    let set = PolicySet::from_str(src).map_err(|e| LoadError::PolicyParse {
        file: file.name.clone(),
        line: parse_error_line(src, &format!("{e:?}")),
        message: e
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let stem = file.stem();
    // Cedar names the statements of a file `policy0`, `policy1`, ...
    let index_of = |id: &PolicyId| -> Option<usize> {
        id.to_string()
            .strip_prefix("policy")
            .and_then(|n| n.parse().ok())
    };
    let final_id = |annotation: Option<&str>, index: usize| -> String {
        annotation.map_or_else(|| format!("{stem}.{index}"), str::to_owned)
    };

    if let Some(t) = set.templates().next() {
        let index = index_of(t.id()).unwrap_or(0);
        return Err(LoadError::Template {
            file: file.name.clone(),
            line: src.find(&t.to_cedar()).map(|o| line_of(src, o)),
            id: final_id(t.annotation("id"), index),
        });
    }

    let mut indexed: Vec<(usize, &Policy)> = set
        .policies()
        .enumerate()
        .map(|(n, p)| (index_of(p.id()).unwrap_or(n), p))
        .collect();
    indexed.sort_by_key(|(n, _)| *n);

    let mut cursor = 0;
    let mut out = Vec::with_capacity(indexed.len());
    for (index, policy) in indexed {
        let line = policy.to_cedar().and_then(|text| {
            let found = src.get(cursor..)?.find(&text)? + cursor;
            cursor = found + text.len();
            Some(line_of(src, found))
        });
        let annotation = policy.annotation("id");
        if annotation.is_some_and(|a| a.trim().is_empty()) {
            return Err(LoadError::PolicyParse {
                file: file.name.clone(),
                line,
                message: "empty @id annotation".into(),
            });
        }
        let id = final_id(annotation, index);
        out.push(LocatedPolicy {
            policy: policy.new_id(PolicyId::new(&id)),
            id,
            file: file.name.clone(),
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn file(name: &str, text: &str) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn ids_and_lines() {
        let src = "// c\npermit(principal, action, resource);\n\n@id(\"named\")\nforbid(principal, action, resource);\npermit(principal, action, resource);\n";
        let got = parse_policy_file(&file("dir/x.cedar", src)).unwrap();
        let ids: Vec<_> = got.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["x.0", "named", "x.2"]);
        let lines: Vec<_> = got.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(6)]);
        assert_eq!(got[1].policy.id().to_string(), "named");
    }

    #[test]
    fn statement_spans_skip_comments_and_strings() {
        let src = "// a; b\npermit(p) when { \"x;\\\"y\" };\n  forbid(q);";
        let spans = statement_spans(src);
        assert_eq!(spans.len(), 2);
        assert!(src[spans[0].0..spans[0].1].starts_with("permit"));
        assert_eq!(&src[spans[1].0..spans[1].1], "forbid(q);");
    }

    #[test]
    fn parse_errors_have_lines() {
        let src = "permit(principal, action, resource);\n\npermit(principal, action, resource) when { 1 + };\n";
        let err = parse_policy_file(&file("bad.cedar", src)).unwrap_err();
        let LoadError::PolicyParse { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, Some(3));
        assert!(err.to_string().starts_with("bad.cedar:3: "), "{err}");

        // An AST-level error carries no offset: the failing statement is found.
        let src =
            "permit(principal, action, resource);\n\npermit(principal, action == Foo, resource);\n";
        let err = parse_policy_file(&file("bad.cedar", src)).unwrap_err();
        assert!(err.to_string().starts_with("bad.cedar:3: "), "{err}");
    }

    #[test]
    fn config_from_lookup() {
        let cfg = PolicyConfig::from_lookup(|n| match n {
            "CEDAR_POLICY_DIR" => Some("/p".into()),
            "CEDAR_APPLICATION" => Some("".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.policy_dir, Some(PathBuf::from("/p")));
        assert_eq!(cfg.application, None);
        assert_eq!(
            PolicyConfig::from_lookup(|_| None).unwrap(),
            PolicyConfig::default()
        );
    }
}
