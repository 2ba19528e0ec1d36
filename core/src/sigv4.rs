//! AWS Signature Version 4 for the one kind of request l42 signs itself: a `POST` of a
//! JSON body to a service's root path (`/`, no query), the AWS JSON protocol that
//! Secrets Manager and DynamoDB speak. HMAC-SHA256 and SHA-256 come from aws-lc, which the
//! binaries already link; nothing else is needed, so the authorizer carries no AWS SDK
//! crate at all. The steps are those of AWS's "Create a signed AWS API request": a
//! canonical request over the signed headers and the body's hash, a string to sign with
//! the credential scope, and a key derived from the secret, the date, the region and the
//! service.

use std::time::{SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};

/// The credentials a request is signed with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What to sign: a `POST /` to `host` (with its port when not the default) of `body`,
/// with the `headers` beside the ones signing adds (`host`, `x-amz-date`,
/// `x-amz-security-token`). Header names are lowercase.
pub(crate) struct Request<'a> {
    pub(crate) host: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: &'a [u8],
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

/// The headers to add to the request: `x-amz-date`, `x-amz-security-token` (with a
/// session token) and `authorization`.
pub(crate) fn sign(
    request: &Request<'_>,
    credentials: &Credentials,
    at: SystemTime,
) -> Vec<(&'static str, String)> {
    let (date, stamp) = timestamp(at);
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.push(("host".into(), request.host.to_string()));
    headers.push(("x-amz-date".into(), stamp.clone()));
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token".into(), token.clone()));
    }
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut canonical = String::from("POST\n/\n\n");
    for (name, value) in &headers {
        canonical.push_str(name);
        canonical.push(':');
        canonical.push_str(value);
        canonical.push('\n');
    }
    canonical.push('\n');
    canonical.push_str(&signed_headers);
    canonical.push('\n');
    canonical.push_str(&hex(digest::digest(&digest::SHA256, request.body).as_ref()));

    let scope = format!("{date}/{}/{}/aws4_request", request.region, request.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mut key = format!("AWS4{}", credentials.secret_access_key).into_bytes();
    for part in [
        date.as_str(),
        request.region,
        request.service,
        "aws4_request",
    ] {
        key = mac(&key, part.as_bytes());
    }
    let signature = hex(&mac(&key, string_to_sign.as_bytes()));
    let mut out = vec![("x-amz-date", stamp)];
    if let Some(token) = &credentials.session_token {
        out.push(("x-amz-security-token", token.clone()));
    }
    out.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    out
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `YYYYMMDD` and `YYYYMMDD'T'HHMMSS'Z'` of `at` (UTC); a time before 1970 is 1970.
fn timestamp(at: SystemTime) -> (String, String) {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rest = secs % 86_400;
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    (date, stamp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let at = |s: u64| timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), ("19700101".into(), "19700101T000000Z".into()));
        assert_eq!(at(951_782_400).0, "20000229");
        assert_eq!(at(1_440_938_160).1, "20150830T123600Z");
        assert_eq!(at(4_102_444_799).1, "20991231T235959Z");
        assert_eq!(
            timestamp(UNIX_EPOCH - Duration::from_secs(5)).1,
            "19700101T000000Z"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret".into(),
            session_token: Some("token-secret".into()),
        };
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("very-secret") && !dbg.contains("token-secret"),
            "{dbg}"
        );
    }

    /// The same request signed by AWS's own implementation (the `aws-sigv4` crate, a
    /// test dependency only) carries the same headers, with and without a session token.
    #[test]
    fn signatures_match_the_reference_implementation() {
        use aws_sigv4::http_request::{
            SignableBody, SignableRequest, SigningSettings, sign as reference,
        };
        use aws_sigv4::sign::v4;
        let body = br#"{"TableName":"l42_sessions","Key":{"session_id":{"S":"abc"}}}"#;
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
        ];
        for (token, host, url) in [
            (
                None,
                "dynamodb.eu-west-1.amazonaws.com",
                "https://dynamodb.eu-west-1.amazonaws.com/",
            ),
            (
                Some("FwoGZXIvYXdzEBYaDH"),
                "127.0.0.1:5123",
                "http://127.0.0.1:5123/",
            ),
        ] {
            let at = UNIX_EPOCH + Duration::from_secs(1_765_000_000);
            let ours = Credentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                session_token: token.map(str::to_string),
            };
            let mine = sign(
                &Request {
                    host,
                    headers: &headers,
                    body,
                    region: "eu-west-1",
                    service: "dynamodb",
                },
                &ours,
                at,
            );
            let identity = aws_credential_types::Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                token.map(str::to_string),
                None,
                "test",
            )
            .into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("eu-west-1")
                .name("dynamodb")
                .time(at)
                .settings(SigningSettings::default())
                .build()
                .unwrap()
                .into();
            let signable = SignableRequest::new(
                "POST",
                url,
                headers.iter().copied(),
                SignableBody::Bytes(body),
            )
            .unwrap();
            let (instructions, _) = reference(signable, &params).unwrap().into_parts();
            let theirs: std::collections::HashMap<String, String> = instructions
                .headers()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect();
            for (name, value) in &mine {
                assert_eq!(theirs.get(*name), Some(value), "{name} ({host})");
            }
            assert_eq!(theirs.len(), mine.len(), "{theirs:?}");
        }
    }
}
