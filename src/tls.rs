//! TLS for the Docker API: a per-installation CA, client and server certificates signed by it
//! (ECDSA P-256, via rcgen), checking which addresses a server certificate covers, and
//! `DockerClient`, an HTTPS client that trusts only that CA, presents the client certificate and
//! reads the engine's `/version`. Uses the aws-lc-rs crypto backend throughout (reqwest picks it
//! itself when no rustls provider is installed; nothing needs installing).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use serde::{Deserialize, Serialize};

/// A certificate and its private key, both PEM (the key in PKCS#8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// What the engine's `GET /version` reports (the fields rmachine shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersion {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "ApiVersion")]
    pub api_version: String,
    #[serde(rename = "Os")]
    pub os: String,
    #[serde(rename = "Arch")]
    pub arch: String,
}

/// Certificate generation and Docker API failures; each names what it was working on.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the {what}: {reason}")]
    Generation { what: &'static str, reason: String },

    #[error("the CA certificate and key cannot sign certificates: {reason}")]
    UnusableCa { reason: String },

    #[error("cannot parse the certificate PEM: {reason}")]
    UnreadableCertificate { reason: String },

    #[error("cannot set up the Docker API client: {reason}")]
    ClientSetup { reason: String },

    #[error("invalid Docker API URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error("cannot talk to the Docker API at {url}: {reason}")]
    Request { url: String, reason: String },

    #[error("the Docker API at {url} answered HTTP {status}: {body}")]
    HttpStatus { url: String, status: u16, body: String },

    #[error("the Docker API at {url} sent a /version answer that is not Docker's JSON: {reason}")]
    UnexpectedAnswer { url: String, reason: String },
}

const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Client and server certificates: about three years, like docker-machine's.
const LEAF_VALIDITY: Duration = Duration::from_secs(3 * 365 * 24 * 3600);
/// Starts validity a little in the past, so a host whose clock lags accepts a fresh certificate.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(24 * 3600);

fn set_validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = SystemTime::now();
    params.not_before = (now - CLOCK_SKEW_ALLOWANCE).into();
    params.not_after = (now + lifetime).into();
}

/// A new self-signed CA (ECDSA P-256, valid 10 years) that may sign only end-entity certificates.
pub fn generate_ca(organization: &str) -> Result<PemPair, TlsError> {
    let failed = |reason: rcgen::Error| TlsError::Generation { what: "CA certificate", reason: reason.to_string() };
    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    params.distinguished_name.push(DnType::CommonName, format!("{organization} CA"));
    params.distinguished_name.push(DnType::OrganizationName, organization);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params, CA_VALIDITY);
    let certificate = params.self_signed(&key).map_err(failed)?;
    Ok(PemPair { cert_pem: certificate.pem(), key_pem: key.serialize_pem() })
}

/// A client certificate (ExtendedKeyUsage ClientAuth) signed by `ca`, for talking to dockerd.
pub fn issue_client_certificate(ca: &PemPair, organization: &str) -> Result<PemPair, TlsError> {
    let mut params = leaf_params(organization, "client certificate", Vec::new())?;
    params.distinguished_name.push(DnType::CommonName, format!("{organization} client"));
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    sign_leaf(ca, params, "client certificate")
}

/// A server certificate (ExtendedKeyUsage ServerAuth) signed by `ca` for dockerd. Each SAN that
/// parses as an IP address becomes an IP SAN, any other a DNS name.
pub fn issue_server_certificate(ca: &PemPair, organization: &str, sans: &[String]) -> Result<PemPair, TlsError> {
    let subject_alt_names = sans
        .iter()
        .map(|san| match san.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => san.as_str().try_into().map(SanType::DnsName).map_err(|error| TlsError::Generation {
                what: "server certificate",
                reason: format!("{san:?} is neither an IP address nor a valid DNS name: {error}"),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut params = leaf_params(organization, "server certificate", subject_alt_names)?;
    let common_name = sans.first().cloned().unwrap_or_else(|| format!("{organization} server"));
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sign_leaf(ca, params, "server certificate")
}

fn leaf_params(
    organization: &str,
    what: &'static str,
    subject_alt_names: Vec<SanType>,
) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|error| TlsError::Generation { what, reason: error.to_string() })?;
    params.subject_alt_names = subject_alt_names;
    params.distinguished_name.push(DnType::OrganizationName, organization);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, LEAF_VALIDITY);
    Ok(params)
}

fn sign_leaf(ca: &PemPair, params: CertificateParams, what: &'static str) -> Result<PemPair, TlsError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem)
        .map_err(|error| TlsError::UnusableCa { reason: format!("the CA key: {error}") })?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)
        .map_err(|error| TlsError::UnusableCa { reason: format!("the CA certificate: {error}") })?;
    let key = KeyPair::generate().map_err(|error| TlsError::Generation { what, reason: error.to_string() })?;
    let certificate =
        params.signed_by(&key, &issuer).map_err(|error| TlsError::Generation { what, reason: error.to_string() })?;
    Ok(PemPair { cert_pem: certificate.pem(), key_pem: key.serialize_pem() })
}

/// Whether the certificate has a SAN for `address`: an IP SAN equal to it if it is an IP address
/// (brackets allowed for IPv6), otherwise a DNS SAN matching it (case-insensitive, `*.` wildcards).
pub fn certificate_covers(cert_pem: &str, address: &str) -> Result<bool, TlsError> {
    let unreadable = |reason: String| TlsError::UnreadableCertificate { reason };
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|error| unreadable(error.to_string()))?;
    let certificate = pem.parse_x509().map_err(|error| unreadable(error.to_string()))?;
    let Some(names) = certificate.subject_alternative_name().map_err(|error| unreadable(error.to_string()))? else {
        return Ok(false);
    };
    let wanted_ip = address.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    Ok(names.value.general_names.iter().any(|name| match (name, wanted_ip) {
        (x509_parser::extensions::GeneralName::IPAddress(bytes), Some(ip)) => match ip {
            IpAddr::V4(v4) => *bytes == v4.octets().as_slice(),
            IpAddr::V6(v6) => *bytes == v6.octets().as_slice(),
        },
        (x509_parser::extensions::GeneralName::DNSName(pattern), None) => dns_name_matches(pattern, address),
        _ => false,
    }))
}

/// Whether `cert_pem` was issued by the CA of `ca_pem`: its issuer is the CA's subject and, when
/// both name one, its authority key identifier is the CA's subject key identifier.
pub fn issued_by(cert_pem: &str, ca_pem: &str) -> Result<bool, TlsError> {
    use x509_parser::extensions::ParsedExtension;
    let unreadable = |reason: String| TlsError::UnreadableCertificate { reason };
    let (_, cert_pem) =
        x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).map_err(|error| unreadable(error.to_string()))?;
    let (_, ca_pem) =
        x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).map_err(|error| unreadable(error.to_string()))?;
    let certificate = cert_pem.parse_x509().map_err(|error| unreadable(error.to_string()))?;
    let ca = ca_pem.parse_x509().map_err(|error| unreadable(error.to_string()))?;
    if certificate.issuer().as_raw() != ca.subject().as_raw() {
        return Ok(false);
    }
    let authority = certificate.extensions().iter().find_map(|extension| match extension.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(identifier) => identifier.key_identifier.as_ref().map(|id| id.0),
        _ => None,
    });
    let subject = ca.extensions().iter().find_map(|extension| match extension.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(identifier) => Some(identifier.0),
        _ => None,
    });
    Ok(match (authority, subject) {
        (Some(authority), Some(subject)) => authority == subject,
        _ => true,
    })
}

fn dns_name_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.to_ascii_lowercase(), name.trim_end_matches('.').to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(suffix) => name.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == name,
    }
}

/// An HTTPS client for one installation's Docker engines: trusts only the installation's CA,
/// presents its client certificate, checks that the server certificate covers the address in the
/// URL, ignores proxy settings (engines are reached directly), and gives up after `timeout`.
pub struct DockerClient {
    http: reqwest::Client,
}

impl DockerClient {
    pub fn new(ca_pem: &str, client: &PemPair, timeout: Duration) -> Result<Self, TlsError> {
        let setup = |what: &str, error: reqwest::Error| TlsError::ClientSetup {
            reason: format!("{what}: {}", error_chain(&error)),
        };
        let ca =
            reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|error| setup("the CA certificate", error))?;
        let identity_pem = format!("{}\n{}", client.cert_pem.trim_end(), client.key_pem);
        let identity = reqwest::Identity::from_pem(identity_pem.as_bytes())
            .map_err(|error| setup("the client certificate and key", error))?;
        let http = reqwest::Client::builder()
            .tls_certs_only([ca])
            .identity(identity)
            .https_only(true)
            .no_proxy()
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|error| setup("the HTTPS client", error))?;
        Ok(DockerClient { http })
    }

    /// The engine's version, from `GET https://HOST:PORT/version` for `url` = "tcp://HOST:PORT"
    /// (the DOCKER_HOST form; "https://HOST:PORT" is accepted too).
    pub async fn version(&self, url: &str) -> Result<EngineVersion, TlsError> {
        let endpoint = version_endpoint(url)?;
        let request_failed = |reason: String| TlsError::Request { url: endpoint.to_string(), reason };
        let response = self.http.get(endpoint.clone()).send().await.map_err(|error| request_failed(explain(&error)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| request_failed(explain(&error)))?;
        if !status.is_success() {
            return Err(TlsError::HttpStatus {
                url: endpoint.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(500).collect(),
            });
        }
        serde_json::from_slice(&body)
            .map_err(|error| TlsError::UnexpectedAnswer { url: endpoint.to_string(), reason: error.to_string() })
    }

    /// The engine's version the cheap way, for `ls`: `GET /_ping` answers with a
    /// `Server: Docker/VERSION (OS)` header, while dockerd answers `/version` by running
    /// `runc --version` and `docker-init --version` every time. Falls back to `/version` when the
    /// header is missing (engines other than dockerd).
    pub async fn version_quickly(&self, url: &str) -> Result<String, TlsError> {
        let endpoint = api_endpoint(url, "/_ping")?;
        let response = self
            .http
            .get(endpoint.clone())
            .send()
            .await
            .map_err(|error| TlsError::Request { url: endpoint.to_string(), reason: explain(&error) })?;
        let from_header = response
            .headers()
            .get(reqwest::header::SERVER)
            .and_then(|value| value.to_str().ok())
            .and_then(server_header_version);
        if response.status().is_success()
            && let Some(version) = from_header
        {
            return Ok(version);
        }
        Ok(self.version(url).await?.version)
    }

    /// Any Docker API call, `METHOD https://HOST:PORT/PATH` (PATH with its query), with an optional
    /// JSON body: the answer's body when the engine says 2xx, else `HttpStatus` with its message.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, TlsError> {
        let endpoint = api_endpoint(url, path)?;
        let request_failed = |reason: String| TlsError::Request { url: format!("{method} {endpoint}"), reason };
        let mut request = self.http.request(method.clone(), endpoint.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| request_failed(explain(&error)))?;
        let status = response.status();
        let answer = response.bytes().await.map_err(|error| request_failed(explain(&error)))?;
        if !status.is_success() {
            return Err(TlsError::HttpStatus {
                url: format!("{method} {endpoint}"),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&answer).chars().take(500).collect(),
            });
        }
        Ok(answer.to_vec())
    }
}

/// "tcp://1.2.3.4:2376" → "https://1.2.3.4:2376/version".
/// "Docker/20.10.24+dfsg1 (linux)" → "20.10.24+dfsg1".
fn server_header_version(header: &str) -> Option<String> {
    let version = header.strip_prefix("Docker/")?.split_whitespace().next()?;
    (!version.is_empty()).then(|| version.to_string())
}

fn version_endpoint(url: &str) -> Result<reqwest::Url, TlsError> {
    api_endpoint(url, "/version")
}

/// "tcp://1.2.3.4:2376" and "/swarm" → "https://1.2.3.4:2376/swarm".
fn api_endpoint(url: &str, path: &str) -> Result<reqwest::Url, TlsError> {
    let invalid = |reason: String| TlsError::InvalidUrl { url: url.to_string(), reason };
    let authority = url
        .strip_prefix("tcp://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| invalid("expected tcp://HOST:PORT".to_string()))?
        .trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(invalid("expected tcp://HOST:PORT".to_string()));
    }
    reqwest::Url::parse(&format!("https://{authority}{path}")).map_err(|error| invalid(error.to_string()))
}

/// The error and its causes in one line, without repeats ("a: b: c").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// The causes (reqwest's own message only repeats the URL), plus what to do for the usual ones.
fn explain(error: &reqwest::Error) -> String {
    let chain = match std::error::Error::source(error) {
        Some(cause) => error_chain(cause),
        None => error_chain(error),
    };
    let has = |needles: &[&str]| needles.iter().any(|needle| chain.contains(needle));
    let hint = if error.is_timeout() {
        " (timed out: is the engine running and its port open?)"
    } else if has(&["not valid for name", "NotValidForName"]) {
        " (the engine's certificate does not cover this address, e.g. after an IP change: \
         regenerate the machine's certificates)"
    } else if has(&["UnknownIssuer", "BadSignature"]) {
        " (the engine's certificate is not signed by this machine's CA: regenerate the machine's certificates)"
    } else if has(&["Expired"]) {
        " (a certificate has expired: regenerate the machine's certificates)"
    } else if has(&["UnknownCA", "BadCertificate", "CertificateRequired", "CertificateUnknown"]) {
        " (the engine refused our client certificate: regenerate the machine's certificates)"
    } else if has(&["Connection refused"]) {
        " (is the engine running and listening on that port?)"
    } else {
        ""
    };
    format!("{chain}{hint}")
}

#[cfg(test)]
mod tests;
