//! [`User`]: a numeric user id, shown with its name from `/etc/passwd`
//! where it has one, for messages about who owns a key file.

use std::fmt;
use std::fs;

/// A user id and, when `/etc/passwd` lists it, the user's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The numeric user id.
    pub uid: u32,
    /// The name `/etc/passwd` gives it, if any.
    pub name: Option<String>,
}

impl User {
    /// The user with id `uid`, named from `/etc/passwd`.
    pub fn with_uid(uid: u32) -> User {
        let name = fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|passwd| name_in_passwd(&passwd, uid));
        User { uid, name }
    }

    /// The user this process runs as (its effective user id).
    pub fn effective() -> User {
        User::with_uid(rustix::process::geteuid().as_raw())
    }

    /// What to pass to `chown`: the name, or the numeric id without one.
    pub fn chown_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

impl fmt::Display for User {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(formatter, "uid {} ({name})", self.uid),
            None => write!(formatter, "uid {}", self.uid),
        }
    }
}

/// The name of `uid` in the contents of a passwd file (`name:x:uid:...`).
fn name_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let listed_uid = fields.nth(1)?.parse::<u32>().ok()?;
        (listed_uid == uid && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_in_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      # a comment\n\
                      dnsfailover:x:998:998::/var/lib/dnsfailover:/usr/sbin/nologin\n";
        assert_eq!(name_in_passwd(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_in_passwd(passwd, 998).as_deref(), Some("dnsfailover"));
        assert_eq!(name_in_passwd(passwd, 1000), None);
    }

    #[test]
    fn shows_the_name_where_known_and_the_id_otherwise() {
        let named = User {
            uid: 998,
            name: Some("dnsfailover".into()),
        };
        assert_eq!(named.to_string(), "uid 998 (dnsfailover)");
        assert_eq!(named.chown_name(), "dnsfailover");
        let unnamed = User {
            uid: 4242,
            name: None,
        };
        assert_eq!(unnamed.to_string(), "uid 4242");
        assert_eq!(unnamed.chown_name(), "4242");
    }
}
