//! The `Authorization` header for each kind of connection. The header value is built in memory
//! for the duration of a call and never stored or logged.

use base64::Engine as _;

/// Credentials for one call.
pub enum Credentials<'a> {
    /// ADO Services: PAT as the Basic-auth password with an empty user name (the documented form).
    Pat(&'a str),
    /// Azure DevOps Server: user name and password over Basic auth.
    UserPassword(&'a str, &'a str),
}

/// The `Authorization` header value.
pub fn basic_header(creds: &Credentials) -> String {
    let raw = match creds {
        Credentials::Pat(pat) => format!(":{pat}"),
        Credentials::UserPassword(user, password) => format!("{user}:{password}"),
    };
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pat_uses_an_empty_user_name() {
        assert_eq!(basic_header(&Credentials::Pat("abc")), "Basic OmFiYw==");
        assert_eq!(
            basic_header(&Credentials::UserPassword("u", "p")),
            "Basic dTpw"
        );
    }
}
