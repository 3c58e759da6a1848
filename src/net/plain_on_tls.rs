//! Plain HTTP sent to the TLS port: someone typed `http://` for an `https://` server. The
//! browser would show a cryptic error had the handshake just failed; Room answers in plain HTTP
//! instead, as nginx does, with a redirect to the same page over https (or, for a request it
//! cannot read, a page saying so).

/// The first byte of every TLS connection: a handshake record.
pub(crate) const TLS_HANDSHAKE: u8 = 0x16;

/// The response to a plain HTTP request `head` (what came before the blank line, or as much as
/// came) on the TLS port.
pub(crate) fn answer(head: &[u8]) -> Vec<u8> {
    match redirect_target(head) {
        Some(location) => {
            let body = format!("This server speaks https: {location}\n");
            format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\n\
                 Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        None => {
            let body = "This server speaks https: open it with https:// instead of http://.\n";
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    }
}

/// `https://<Host><path>` of a request head, when both are there and plain: no spaces or
/// control characters, a host of name, address and port characters only.
fn redirect_target(head: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let mut request = lines.next()?.split(' ');
    let (_method, path) = (request.next()?, request.next()?);
    let path_ok = path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic());
    let host = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("host").then(|| value.trim())
    })?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    (path_ok && host_ok).then(|| format!("https://{host}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(response: Vec<u8>) -> String {
        String::from_utf8(response).unwrap()
    }

    #[test]
    fn a_page_asked_for_over_http_is_sent_to_the_same_page_over_https() {
        let head = b"GET /room/team?new HTTP/1.1\r\nHost: meet.example:3000\r\nAccept: */*";
        let response = text(answer(head));
        assert!(
            response.starts_with("HTTP/1.1 301 Moved Permanently\r\n"),
            "{response}"
        );
        assert!(response.contains("\r\nLocation: https://meet.example:3000/room/team?new\r\n"));
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{response}"
        );
    }

    #[test]
    fn a_request_that_cannot_be_read_safely_gets_a_page_saying_so() {
        for head in [
            &b"GET /x HTTP/1.1\r\n\r\n"[..],
            b"GET /x HTTP/1.1\r\nHost: evil\r\n\r\nInjected: 1",
            b"GET /x HTTP/1.1\r\nHost: a b\r\n",
            b"GET /a\x7fb HTTP/1.1\r\nHost: ok\r\n",
            b"\xff\xfe",
            b"",
        ] {
            let response = text(answer(head));
            if response.starts_with("HTTP/1.1 301") {
                // Only the second one, whose Host is plain, may be redirected.
                assert!(
                    response.contains("Location: https://evil/x\r\n"),
                    "{response}"
                );
                continue;
            }
            assert!(
                response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{response}"
            );
            assert!(response.contains("speaks https"), "{response}");
        }
    }
}
