//! Reaching EC2: a client built through aws-config's standard chain (environment, `~/.aws`
//! profiles, SSO, credential processes, instance roles) with the record's region, profile and
//! endpoint, and API errors turned into one line that names the AWS error code.

use crate::settings::AwsConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ec2::config::Region;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use rmachine_drivers::DriverError;
use std::error::Error;
use std::fmt::Debug;

/// An EC2 client and the region it talks to.
pub struct Ec2 {
    pub client: aws_sdk_ec2::Client,
    pub region: String,
}

/// Builds the client. The region comes from the record, else from the AWS chain (AWS_REGION,
/// the profile); without one this fails with what to set.
pub async fn connect(config: &AwsConfig) -> Result<Ec2, DriverError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let shared = loader.load().await;
    let Some(region) = shared.region().map(|region| region.to_string()) else {
        return Err(DriverError::InvalidSetting {
            flag: "--aws-region".into(),
            problem: "no region: pass --aws-region, set AWS_REGION or give the profile a region".into(),
        });
    };
    Ok(Ec2 { client: aws_sdk_ec2::Client::new(&shared), region })
}

/// The AWS error code of a failed call, when the service answered.
pub fn error_code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    error.code()
}

/// One line for a failed call: `CODE: message` when AWS answered, else what went wrong on the
/// way (no credentials, endpoint unreachable).
pub fn api_error<E, R>(operation: &'static str, error: SdkError<E, R>) -> DriverError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    let message = match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or("(no message)")),
        None => {
            let text = causes(&error);
            if text.contains("no credentials found") || text.contains("credential provider") {
                "no AWS credentials found (tried the environment, the profile, web identity, ECS and instance metadata): set \
                 AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, use --aws-profile, or run 'aws sso login'"
                    .to_string()
            } else {
                text
            }
        }
    };
    DriverError::Api { service: "EC2".into(), operation: operation.into(), message }
}

/// `Err(api_error)` unless the call failed with one of `tolerated` codes (then `Ok(None)`).
pub fn tolerate<T, E, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
    tolerated: &[&str],
) -> Result<Option<T>, DriverError>
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug + 'static,
{
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error_code(&error).is_some_and(|code| tolerated.contains(&code)) => Ok(None),
        Err(error) => Err(api_error(operation, error)),
    }
}

/// The error and its causes on one line, each message once (`dispatch failure: io error: ...`).
fn causes(error: &dyn Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(cause) = current {
        let text = cause.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = cause.source();
    }
    parts.join(": ")
}
