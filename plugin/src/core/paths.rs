//! Classification paths and URLs: node paths (`\Project\Iteration\Sprint 1`) vs field paths
//! (`Project\Sprint 1`), and the organisation URL a user types in.

/// Convert a classification node path (`\Fabrikam\Iteration\Sprint 1`) to the field form
/// (`Fabrikam\Sprint 1`). Paths already in field form are returned trimmed.
pub fn node_path_to_field_path(node_path: &str) -> String {
    let trimmed = node_path.trim();
    if !trimmed.starts_with('\\') {
        return trimmed.to_string();
    }
    let parts: Vec<&str> = trimmed
        .trim_start_matches('\\')
        .split('\\')
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [] => String::new(),
        [project] => project.to_string(),
        [project, structure, rest @ ..]
            if structure.eq_ignore_ascii_case("iteration")
                || structure.eq_ignore_ascii_case("area") =>
        {
            std::iter::once(*project)
                .chain(rest.iter().copied())
                .collect::<Vec<_>>()
                .join("\\")
        }
        all => all.join("\\"),
    }
}

/// Two field paths name the same node (ADO compares them case-insensitively).
pub fn same_path(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The organisation or collection URL the user typed, normalised: white space and trailing
/// slashes trimmed, scheme and host lower-cased. Only `https` is accepted for cloud URLs.
pub fn normalise_base_url(raw: &str, cloud: bool) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Err("the URL is empty".into());
    }
    let parsed = url::Url::parse(trimmed).map_err(|e| format!("not a URL ({e})"))?;
    if parsed.scheme() != "https" && parsed.scheme() != "http" {
        return Err(format!("scheme {} is not http or https", parsed.scheme()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("the URL must not have a query or fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("put credentials in their own fields, not in the URL".into());
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| "the URL has no host".to_string())?
        .to_ascii_lowercase();
    let path = parsed.path().trim_end_matches('/');
    if cloud {
        if parsed.scheme() != "https" {
            return Err("Azure DevOps Services URLs use https".into());
        }
        let org_segments = path.split('/').filter(|s| !s.is_empty()).count();
        if host == "dev.azure.com" {
            if org_segments != 1 {
                return Err("expected https://dev.azure.com/{organisation}".into());
            }
        } else if host.ends_with(".visualstudio.com") {
            if org_segments != 0 {
                return Err("expected https://{organisation}.visualstudio.com".into());
            }
        } else {
            return Err(
                "Azure DevOps Services URLs are https://dev.azure.com/{organisation} or https://{organisation}.visualstudio.com"
                    .into(),
            );
        }
    } else if path.is_empty() {
        return Err("an Azure DevOps Server URL must include the collection, for example https://ado.example.com/DefaultCollection".into());
    }
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{}://{host}{port}{path}", parsed.scheme()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_paths_become_field_paths() {
        assert_eq!(
            node_path_to_field_path("\\Fabrikam\\Iteration\\Sprint 1"),
            "Fabrikam\\Sprint 1"
        );
        assert_eq!(node_path_to_field_path("\\Fabrikam\\Iteration"), "Fabrikam");
        assert_eq!(
            node_path_to_field_path("\\Fabrikam\\Area\\Web"),
            "Fabrikam\\Web"
        );
        assert_eq!(
            node_path_to_field_path("Fabrikam\\Sprint 2"),
            "Fabrikam\\Sprint 2"
        );
    }

    #[test]
    fn cloud_urls_are_normalised() {
        assert_eq!(
            normalise_base_url("  https://Dev.Azure.com/contoso/ \t", true).unwrap(),
            "https://dev.azure.com/contoso"
        );
        assert_eq!(
            normalise_base_url("https://contoso.visualstudio.com/", true).unwrap(),
            "https://contoso.visualstudio.com"
        );
        assert!(normalise_base_url("https://dev.azure.com", true).is_err());
        assert!(normalise_base_url("http://dev.azure.com/contoso", true).is_err());
        assert!(normalise_base_url("https://example.com/x", true).is_err());
        assert!(normalise_base_url("https://u:p@dev.azure.com/contoso", true).is_err());
        assert!(normalise_base_url("", true).is_err());
    }

    #[test]
    fn server_urls_keep_the_collection() {
        assert_eq!(
            normalise_base_url("http://ado.local:8080/tfs/DefaultCollection//", false).unwrap(),
            "http://ado.local:8080/tfs/DefaultCollection"
        );
        assert!(normalise_base_url("https://ado.local/", false).is_err());
    }
}
