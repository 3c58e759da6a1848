//! The browser client's files (`static/`), compiled into the binary.
//!
//! Embedding them means `room` serves the same client from any working directory, and a
//! release is one file.

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Files;

/// A file of the browser client.
#[derive(Debug)]
pub(crate) struct Asset {
    /// The file's bytes.
    pub(crate) bytes: Vec<u8>,
    /// Its content type, such as `text/javascript`.
    pub(crate) content_type: String,
}

/// Looks up `static/<path>`.
pub(crate) fn get(path: &str) -> Option<Asset> {
    let file = Files::get(path)?;
    Some(Asset {
        content_type: file.metadata.mimetype().to_owned(),
        bytes: file.data.into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_files_are_embedded_with_their_content_types() {
        let js = get("protocol.js").expect("protocol.js is embedded");
        assert_eq!(js.content_type, "text/javascript");
        assert!(!js.bytes.is_empty());
        assert_eq!(get("app.css").unwrap().content_type, "text/css");
        assert!(get("missing.js").is_none());
        assert!(get("../Cargo.toml").is_none());
    }
}
