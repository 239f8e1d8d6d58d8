//! Looking up a group's id in `/etc/group`, for the socket's group.

use std::path::Path;

/// The gid of group `name` in the file at `path` (`/etc/group` format).
pub fn gid_of(name: &str, path: &Path) -> std::io::Result<Option<u32>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let group = fields.next()?;
        let _password = fields.next()?;
        let gid = fields.next()?;
        (group == name).then(|| gid.parse().ok()).flatten()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_found_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("group");
        std::fs::write(&file, "root:x:0:\nops:x:1234:alice,bob\nbad:x:no:\n").expect("write");
        assert_eq!(gid_of("ops", &file).expect("read"), Some(1234));
        assert_eq!(gid_of("missing", &file).expect("read"), None);
        assert_eq!(gid_of("bad", &file).expect("read"), None);
    }
}
