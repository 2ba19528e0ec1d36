//! CloudWatch metrics in the Embedded Metric Format (EMF).
//!
//! A Lambda records what happens during an invocation (counts and latencies) into the
//! process's [`Metrics`] and flushes once, at the end of the invocation: one write of one
//! JSON object per line, each with `_aws.Timestamp` and `_aws.CloudWatchMetrics`, which
//! CloudWatch Logs turns into metrics (no API call, nothing on the hot path but a short
//! uncontended lock and a push into a vector kept from one invocation to the next).
//!
//! - **Where.** On inside Lambda (standard output, which the Lambda service sends to
//!   CloudWatch Logs; l42's own log lines go to standard error). `L42_METRICS=emf` asks for
//!   them anywhere, `L42_METRICS=off` (or Powertools' `POWERTOOLS_METRICS_DISABLED=true`)
//!   turns them off.
//! - **Names.** The namespace is `POWERTOOLS_METRICS_NAMESPACE` (default `l42`), the
//!   `service` dimension `POWERTOOLS_SERVICE_NAME` (default the binary's name), as with
//!   Powertools for AWS Lambda.
//! - **Dimensions.** Every metric is published under `service` alone and under `service`
//!   plus each of its own dimensions, one at a time, never their cross product. Dimension
//!   values are `&'static str`: an enumeration's names, never a user, a token or a path.
//! - **Limits** (the EMF specification's): at most 100 metrics per object, at most 100
//!   values per metric per object (more values are spread over several objects), at most 30
//!   dimensions per dimension set (l42 uses at most [`MAX_DIMENSIONS`] + 1).
//! - `ColdStart` (Count, under `service` and `service` + `function_name`) is 1 in the first
//!   flush of a process.
//! - Each object also carries the invocation's X-Ray trace id (`traceId`, from
//!   `_X_AMZN_TRACE_ID`) when there is one, as a property (not a dimension), to go from a
//!   metric to the invocation's logs.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::config::ConfigError;

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `Count`.
    Count,
    /// `Microseconds`.
    Microseconds,
    /// `Milliseconds`.
    Milliseconds,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// The most dimensions one recording may carry (besides `service`).
pub const MAX_DIMENSIONS: usize = 4;
/// The most values one metric keeps between two flushes; more are dropped (and counted in
/// `MetricValuesDropped`). No l42 invocation comes near it.
pub const MAX_VALUES: usize = 1000;
const VALUES_PER_OBJECT: usize = 100;
const METRICS_PER_OBJECT: usize = 100;

/// Where the EMF lines go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Standard output (inside Lambda).
    Stdout,
    /// Standard error (the authorizer's `--stdin` mode, whose standard output carries the
    /// responses).
    Stderr,
    /// A buffer, for tests and benchmarks.
    Memory(Arc<Mutex<Vec<u8>>>),
}

/// The settings read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Whether metrics are written at all.
    pub enabled: bool,
    /// The CloudWatch namespace.
    pub namespace: String,
    /// The `service` dimension's value.
    pub service: String,
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`), the `function_name` dimension of
    /// `ColdStart`.
    pub function_name: Option<String>,
}

impl Settings {
    /// Reads `L42_METRICS`, `POWERTOOLS_METRICS_DISABLED`, `POWERTOOLS_METRICS_NAMESPACE`,
    /// `POWERTOOLS_SERVICE_NAME` and `AWS_LAMBDA_FUNCTION_NAME` through `get`;
    /// `default_service` is the binary's name.
    ///
    /// # Errors
    /// An unknown `L42_METRICS` or `POWERTOOLS_METRICS_DISABLED` value, or a namespace or
    /// service name CloudWatch would refuse.
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        default_service: &str,
    ) -> Result<Settings, ConfigError> {
        let mode = get("L42_METRICS").map(|v| v.trim().to_ascii_lowercase());
        let mut enabled = match mode.as_deref() {
            None | Some("") => crate::config::in_lambda(get),
            Some("emf") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError::new(
                    "L42_METRICS",
                    format!("`{other}` is neither `emf` nor `off`"),
                ));
            }
        };
        match get("POWERTOOLS_METRICS_DISABLED")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "false" | "0") => {}
            Some("true" | "1") => enabled = false,
            Some(other) => {
                return Err(ConfigError::new(
                    "POWERTOOLS_METRICS_DISABLED",
                    format!("`{other}` is neither `true` nor `false`"),
                ));
            }
        }
        let namespace = match get("POWERTOOLS_METRICS_NAMESPACE") {
            Some(v) if !v.trim().is_empty() => check_namespace(v.trim())?,
            _ => "l42".to_string(),
        };
        let service = match get("POWERTOOLS_SERVICE_NAME") {
            Some(v) if !v.trim().is_empty() => {
                check_dimension_value("POWERTOOLS_SERVICE_NAME", v.trim())?
            }
            _ => default_service.to_string(),
        };
        let function_name = get("AWS_LAMBDA_FUNCTION_NAME")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| check_dimension_value("AWS_LAMBDA_FUNCTION_NAME", &v))
            .transpose()?;
        Ok(Settings {
            enabled,
            namespace,
            service,
            function_name,
        })
    }
}

/// CloudWatch's namespace rule: 1 to 255 characters of letters, digits and `. - _ / # :`
/// and spaces, not beginning with `AWS/` (AWS's own namespaces).
fn check_namespace(v: &str) -> Result<String, ConfigError> {
    let var = "POWERTOOLS_METRICS_NAMESPACE";
    if v.len() > 255 {
        return Err(ConfigError::new(var, "longer than 255 characters"));
    }
    if let Some(c) = v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#: ".contains(*c)))
    {
        return Err(ConfigError::new(
            var,
            format!("`{}` is not allowed in a namespace", c.escape_default()),
        ));
    }
    if v.starts_with("AWS/") {
        return Err(ConfigError::new(
            var,
            "namespaces beginning with AWS/ are AWS's",
        ));
    }
    Ok(v.to_string())
}

/// A dimension value: 1 to 255 printable ASCII characters (CloudWatch allows 1024; a
/// service name longer than 255 is a mistake).
fn check_dimension_value(var: &'static str, v: &str) -> Result<String, ConfigError> {
    if v.len() > 255 {
        return Err(ConfigError::new(var, "longer than 255 characters"));
    }
    if let Some(c) = v.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(ConfigError::new(
            var,
            format!(
                "`{}` is not a printable ASCII character",
                c.escape_default()
            ),
        ));
    }
    Ok(v.to_string())
}

/// One recording's dimensions (besides `service`): names and values fixed at compile time.
pub type Dimensions<'a> = &'a [(&'static str, &'static str)];

#[derive(Debug)]
struct Series {
    name: &'static str,
    unit: Unit,
    values: Vec<f64>,
}

#[derive(Debug)]
struct Group {
    dimensions: Vec<(&'static str, &'static str)>,
    series: Vec<Series>,
}

#[derive(Debug, Default)]
struct Batch {
    groups: Vec<Group>,
    dropped: u64,
}

impl Batch {
    fn record(&mut self, name: &'static str, unit: Unit, value: f64, dims: Dimensions<'_>) {
        let dims = &dims[..dims.len().min(MAX_DIMENSIONS)];
        let group = match self
            .groups
            .iter_mut()
            .position(|g| g.dimensions.as_slice() == dims)
        {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(Group {
                    dimensions: dims.to_vec(),
                    series: Vec::new(),
                });
                let last = self.groups.len() - 1;
                &mut self.groups[last]
            }
        };
        let series = match group
            .series
            .iter_mut()
            .position(|s| s.name == name && s.unit == unit)
        {
            Some(i) => &mut group.series[i],
            None => {
                group.series.push(Series {
                    name,
                    unit,
                    values: Vec::new(),
                });
                let last = group.series.len() - 1;
                &mut group.series[last]
            }
        };
        if series.values.len() < MAX_VALUES {
            series.values.push(value);
        } else {
            self.dropped += 1;
        }
    }

    /// Empties the batch, keeping its groups and series (and their capacity) for the next
    /// invocation, which usually records the same ones.
    fn clear(&mut self) {
        for g in &mut self.groups {
            for s in &mut g.series {
                s.values.clear();
            }
        }
        self.dropped = 0;
        // Only the groups of bounded dimension sets exist, but keep the list short.
        if self.groups.len() > 64 {
            self.groups.clear();
        }
    }
}

/// A process's metrics: what has been recorded since the last flush.
#[derive(Debug)]
pub struct Metrics {
    settings: Settings,
    enabled: AtomicBool,
    sink: Sink,
    batch: Mutex<Batch>,
    cold_start: AtomicBool,
}

impl Metrics {
    /// Metrics with `settings`, written to `sink`.
    pub fn new(settings: Settings, sink: Sink) -> Metrics {
        Metrics {
            enabled: AtomicBool::new(settings.enabled),
            settings,
            sink,
            batch: Mutex::new(Batch::default()),
            cold_start: AtomicBool::new(true),
        }
    }

    /// Whether anything is recorded (callers skip measuring when not).
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns recording on or off from now on (benchmarks compare the two in one process).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Adds `n` to the count `name`.
    pub fn count(&self, name: &'static str, n: u64, dims: Dimensions<'_>) {
        self.value(name, Unit::Count, n as f64, dims);
    }

    /// Records one value of `name`.
    pub fn value(&self, name: &'static str, unit: Unit, value: f64, dims: Dimensions<'_>) {
        if !self.enabled() || !value.is_finite() {
            return;
        }
        self.batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(name, unit, value, dims);
    }

    /// Records several values under the same dimensions with one lock.
    pub fn values(&self, entries: &[(&'static str, Unit, f64)], dims: Dimensions<'_>) {
        if !self.enabled() {
            return;
        }
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, unit, value) in entries {
            if value.is_finite() {
                batch.record(name, *unit, *value, dims);
            }
        }
    }

    /// The EMF lines of everything recorded since the last flush (and `ColdStart` in the
    /// first), emptying the batch; empty when nothing was recorded or metrics are off.
    pub fn take_lines(&self, timestamp_ms: u64, trace_id: Option<&str>) -> String {
        if !self.enabled() {
            return String::new();
        }
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        if batch.dropped > 0 {
            let dropped = batch.dropped as f64;
            batch.dropped = 0;
            batch.record("MetricValuesDropped", Unit::Count, dropped, &[]);
        }
        let mut out = String::new();
        if self.cold_start.swap(false, Ordering::Relaxed) {
            let mut sets = vec![vec!["service"]];
            let mut object = serde_json::Map::new();
            object.insert("service".into(), self.settings.service.clone().into());
            if let Some(f) = &self.settings.function_name {
                sets.push(vec!["service", "function_name"]);
                object.insert("function_name".into(), f.clone().into());
            }
            self.finish_object(
                &mut out,
                object,
                &sets,
                &[("ColdStart", Unit::Count, serde_json::Value::from(1))],
                timestamp_ms,
                trace_id,
            );
        }
        for group in &batch.groups {
            self.write_group(&mut out, group, timestamp_ms, trace_id);
        }
        batch.clear();
        out
    }

    /// Writes what was recorded since the last flush to the sink, in one write. A failed
    /// write loses these metrics and nothing else.
    pub fn flush(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let trace = std::env::var("_X_AMZN_TRACE_ID").ok();
        let lines = self.take_lines(now, trace.as_deref());
        if lines.is_empty() {
            return;
        }
        let _ = match &self.sink {
            Sink::Stdout => std::io::stdout().lock().write_all(lines.as_bytes()),
            Sink::Stderr => std::io::stderr().lock().write_all(lines.as_bytes()),
            Sink::Memory(buffer) => {
                buffer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(lines.as_bytes());
                Ok(())
            }
        };
    }

    fn write_group(&self, out: &mut String, group: &Group, timestamp: u64, trace: Option<&str>) {
        let live: Vec<&Series> = group
            .series
            .iter()
            .filter(|s| !s.values.is_empty())
            .collect();
        // The dimension sets: `service` alone, then `service` with each dimension.
        let mut sets: Vec<Vec<&str>> = vec![vec!["service"]];
        for (name, _) in &group.dimensions {
            sets.push(vec!["service", name]);
        }
        for metrics in live.chunks(METRICS_PER_OBJECT) {
            let most = metrics.iter().map(|s| s.values.len()).max().unwrap_or(0);
            let mut start = 0;
            while start < most {
                let end = start + VALUES_PER_OBJECT;
                let mut object = serde_json::Map::new();
                object.insert("service".into(), self.settings.service.clone().into());
                for (name, value) in &group.dimensions {
                    object.insert((*name).into(), (*value).into());
                }
                let values: Vec<_> = metrics
                    .iter()
                    .filter(|s| s.values.len() > start)
                    .map(|s| {
                        let chunk = &s.values[start..end.min(s.values.len())];
                        let value = if let [one] = chunk {
                            number(*one)
                        } else {
                            serde_json::Value::Array(chunk.iter().copied().map(number).collect())
                        };
                        (s.name, s.unit, value)
                    })
                    .collect();
                self.finish_object(out, object, &sets, &values, timestamp, trace);
                start = end;
            }
        }
    }

    /// Adds `_aws`, the trace id and the values to `object` (which holds the dimensions)
    /// and appends it as one line.
    fn finish_object(
        &self,
        out: &mut String,
        mut object: serde_json::Map<String, serde_json::Value>,
        sets: &[Vec<&str>],
        values: &[(&'static str, Unit, serde_json::Value)],
        timestamp: u64,
        trace: Option<&str>,
    ) {
        let declared: Vec<serde_json::Value> = values
            .iter()
            .map(|(name, unit, _)| serde_json::json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        object.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.settings.namespace,
                    "Dimensions": sets,
                    "Metrics": declared,
                }],
            }),
        );
        if let Some(t) = trace {
            object.insert("traceId".into(), t.into());
        }
        for (name, _, value) in values {
            object.insert((*name).into(), value.clone());
        }
        out.push_str(&serde_json::Value::Object(object).to_string());
        out.push('\n');
    }
}

/// A whole number as an integer, anything else as a float.
fn number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// Sets the process's metrics up from the environment (once; later calls keep the first).
/// `default_service` is the binary's name; `sink` is standard output inside Lambda.
///
/// # Errors
/// See [`Settings::from_lookup`].
pub fn init(default_service: &str, sink: Sink) -> Result<&'static Metrics, ConfigError> {
    let settings = Settings::from_lookup(&|k| std::env::var(k).ok(), default_service)?;
    Ok(GLOBAL.get_or_init(|| Metrics::new(settings, sink)))
}

/// The process's metrics, once [`init`] ran.
pub fn global() -> Option<&'static Metrics> {
    GLOBAL.get()
}

/// Whether the process records metrics.
pub fn enabled() -> bool {
    GLOBAL.get().is_some_and(Metrics::enabled)
}

/// [`Metrics::count`] on the process's metrics (nothing before [`init`] or when off).
pub fn count(name: &'static str, n: u64, dims: Dimensions<'_>) {
    if let Some(m) = GLOBAL.get() {
        m.count(name, n, dims);
    }
}

/// [`Metrics::value`] on the process's metrics.
pub fn value(name: &'static str, unit: Unit, v: f64, dims: Dimensions<'_>) {
    if let Some(m) = GLOBAL.get() {
        m.value(name, unit, v, dims);
    }
}

/// [`Metrics::flush`] on the process's metrics.
pub fn flush() {
    if let Some(m) = GLOBAL.get() {
        m.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::Value;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let lookup = crate::test_lookup(vars);
        Settings::from_lookup(&|k| lookup(k), "l42-test")
    }

    fn on() -> Metrics {
        let s = settings(&[("L42_METRICS", "emf"), ("AWS_LAMBDA_FUNCTION_NAME", "fn-1")]).unwrap();
        Metrics::new(s, Sink::Memory(Arc::default()))
    }

    fn objects(lines: &str) -> Vec<Value> {
        lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn on_in_lambda_off_elsewhere_unless_asked() {
        assert!(!settings(&[]).unwrap().enabled);
        assert!(
            settings(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")])
                .unwrap()
                .enabled
        );
        assert!(settings(&[("L42_METRICS", "EMF")]).unwrap().enabled);
        let off = [
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("L42_METRICS", "off"),
        ];
        assert!(!settings(&off).unwrap().enabled);
        let disabled = [
            ("L42_METRICS", "emf"),
            ("POWERTOOLS_METRICS_DISABLED", "true"),
        ];
        assert!(!settings(&disabled).unwrap().enabled);
        let s = settings(&[]).unwrap();
        assert_eq!(
            (s.namespace.as_str(), s.service.as_str()),
            ("l42", "l42-test")
        );
        let named = settings(&[
            ("POWERTOOLS_METRICS_NAMESPACE", "Team/Auth"),
            ("POWERTOOLS_SERVICE_NAME", "orders-auth"),
        ])
        .unwrap();
        assert_eq!(named.namespace, "Team/Auth");
        assert_eq!(named.service, "orders-auth");
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        for (var, value) in [
            ("L42_METRICS", "on"),
            ("POWERTOOLS_METRICS_DISABLED", "yes"),
            ("POWERTOOLS_METRICS_NAMESPACE", "AWS/Lambda"),
            ("POWERTOOLS_METRICS_NAMESPACE", "bad{name}"),
            ("POWERTOOLS_METRICS_NAMESPACE", &"n".repeat(256)),
            ("POWERTOOLS_SERVICE_NAME", "tab\there"),
            ("POWERTOOLS_SERVICE_NAME", "é"),
            ("AWS_LAMBDA_FUNCTION_NAME", "new\nline"),
        ] {
            let e = settings(&[(var, value)]).unwrap_err();
            assert!(e.to_string().contains(var), "{var}={value:?}: {e}");
        }
    }

    #[test]
    fn one_object_per_dimension_values_with_cold_start_first_only() {
        let m = on();
        m.count("Allowed", 1, &[("eventKind", "http-v2")]);
        m.count("Allowed", 1, &[("eventKind", "http-v2")]);
        m.value(
            "Latency",
            Unit::Microseconds,
            12.5,
            &[("eventKind", "http-v2")],
        );
        m.count("Hits", 3, &[]);
        let got = objects(&m.take_lines(1_700_000_000_000, Some("Root=1-a-b")));
        assert_eq!(got.len(), 3, "{got:#?}");
        assert_eq!(got[0]["ColdStart"], 1);
        assert_eq!(got[0]["function_name"], "fn-1");
        assert_eq!(
            got[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["service"], ["service", "function_name"]])
        );
        let kind = &got[1];
        assert_eq!(kind["Allowed"], serde_json::json!([1, 1]));
        assert_eq!(kind["Latency"], 12.5);
        assert_eq!(kind["eventKind"], "http-v2");
        assert_eq!(kind["service"], "l42-test");
        assert_eq!(kind["traceId"], "Root=1-a-b");
        assert_eq!(kind["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        assert_eq!(
            kind["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["service"], ["service", "eventKind"]])
        );
        assert_eq!(got[2]["Hits"], 3);
        // Emptied; no second ColdStart; nothing recorded means nothing written.
        assert_eq!(m.take_lines(1, None), "");
        m.count("Hits", 1, &[]);
        let again = objects(&m.take_lines(2, None));
        assert_eq!(again.len(), 1);
        assert!(again[0].get("ColdStart").is_none());
        assert!(again[0].get("traceId").is_none());
    }

    #[test]
    fn values_are_spread_over_objects_of_at_most_100() {
        let m = on();
        let _ = m.take_lines(0, None);
        for i in 0..250 {
            m.value("Latency", Unit::Milliseconds, f64::from(i), &[]);
        }
        m.count("Once", 1, &[]);
        let got = objects(&m.take_lines(0, None));
        let sizes: Vec<usize> = got
            .iter()
            .map(|o| o["Latency"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        // `Once` is in the first object only, and declared only where it is present.
        assert_eq!(got.iter().filter(|o| o.get("Once").is_some()).count(), 1);
        assert_eq!(
            got[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let all: Vec<f64> = got
            .iter()
            .flat_map(|o| o["Latency"].as_array().unwrap().clone())
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(all, (0..250).map(f64::from).collect::<Vec<_>>());
    }

    #[test]
    fn more_than_100_metrics_make_more_objects_and_excess_values_are_counted() {
        let m = on();
        let _ = m.take_lines(0, None);
        let names: Vec<&'static str> = (0..150)
            .map(|i| &*Box::leak(format!("M{i}").into_boxed_str()))
            .collect();
        for n in &names {
            m.count(n, 1, &[]);
        }
        for _ in 0..MAX_VALUES + 5 {
            m.count("Busy", 1, &[("k", "v")]);
        }
        m.value("Bad", Unit::Count, f64::NAN, &[]);
        let got = objects(&m.take_lines(0, None));
        let declared: usize = got
            .iter()
            .filter(|o| o.get("k").is_none())
            .map(|o| {
                o["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .sum();
        // 150 metrics and `MetricValuesDropped`, in objects of at most 100.
        assert_eq!(declared, 151);
        assert!(got.iter().all(|o| {
            o["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len()
                <= 100
        }));
        let dropped: Vec<_> = got
            .iter()
            .filter_map(|o| o.get("MetricValuesDropped"))
            .collect();
        assert_eq!(dropped, [&serde_json::json!(5)]);
        let busy: usize = got
            .iter()
            .filter_map(|o| o.get("Busy"))
            .map(|v| v.as_array().unwrap().len())
            .sum();
        assert_eq!(busy, MAX_VALUES);
        assert!(got.iter().all(|o| o.get("Bad").is_none()));
    }

    #[test]
    fn off_records_and_writes_nothing() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let m = Metrics::new(settings(&[]).unwrap(), Sink::Memory(buffer.clone()));
        m.count("Allowed", 1, &[]);
        m.flush();
        assert!(buffer.lock().unwrap().is_empty());
        m.set_enabled(true);
        m.count("Allowed", 1, &[]);
        m.flush();
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }
}
