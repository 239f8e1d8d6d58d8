use super::*;

/// Exactly what `tsig-keygen -a hmac-sha256 update-key` prints (BIND 9.18).
const TSIG_KEYGEN: &str = "key \"update-key\" {\n\
\talgorithm hmac-sha256;\n\
\tsecret \"AevIgbGFv4w8geUyeBrIF9Q+1YdQ1JGVfuzb/eqKlFY=\";\n\
};\n";

/// Exactly what `ddns-confgen -k mykey` prints (BIND 9.18), trailing lines included.
const DDNS_CONFGEN: &str = "# To activate this key, place the following in named.conf, and
# in a separate keyfile on the system or systems from which nsupdate
# will be run:
key \"mykey\" {
\talgorithm hmac-sha256;
\tsecret \"93/F6Jl8pqbheaJwPobRY518e9Sft4mbWbcbk7XZxgk=\";
};

# Then, in the \"zone\" statement for each zone you wish to dynamically
# update, place an \"update-policy\" statement granting update permission
# to this key.  For example, the following statement grants this key
# permission to update any name within the zone:
update-policy {
\tgrant mykey zonesub ANY;
};

# After the keyfile has been placed, the following command will
# execute nsupdate using this key:
nsupdate -k <keyfile>
";

fn secret_text(entry: &KeyEntry) -> &str {
    std::str::from_utf8(entry.secret.expose()).unwrap()
}

fn error_of(text: &str) -> KeyFileError {
    parse_key_file(text).expect_err("the text should be refused")
}

#[test]
fn reads_tsig_keygen_output() {
    let entries = parse_key_file(TSIG_KEYGEN).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, "update-key");
    assert_eq!(entries[0].algorithm, "hmac-sha256");
    assert_eq!(
        secret_text(&entries[0]),
        "AevIgbGFv4w8geUyeBrIF9Q+1YdQ1JGVfuzb/eqKlFY="
    );
    assert_eq!(entries[0].line, 1);
}

#[test]
fn reads_ddns_confgen_output_with_its_comments_policy_and_nsupdate_line() {
    let entries = parse_key_file(DDNS_CONFGEN).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, "mykey");
    assert_eq!(entries[0].line, 4);
    assert_eq!(
        secret_text(&entries[0]),
        "93/F6Jl8pqbheaJwPobRY518e9Sft4mbWbcbk7XZxgk="
    );
}

#[test]
fn accepts_every_comment_style_and_layout_and_quoting() {
    let text = "/* several\n keys */ key/*x*/second{secret\n\"QUJD\" ; # trailing\n\
                ALGORITHM \"hmac-sha512\";}// done\n;KEY \"third.example.\" { algorithm hmac-sha384; secret \"REVG\"; };";
    let entries = parse_key_file(text).unwrap();
    let names: Vec<_> = entries.iter().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names, ["second", "third.example."]);
    assert_eq!(entries[0].algorithm, "hmac-sha512");
    assert_eq!(secret_text(&entries[0]), "QUJD");
    assert_eq!(entries[0].line, 2);
    assert_eq!(entries[1].line, 5);
}

#[test]
fn skips_other_statements_with_nested_blocks() {
    let text = "options { directory \"/var/cache/bind\"; allow-query { any; }; };\n\
                zone \"example.test\" { type primary; update-policy { grant k zonesub ANY; }; };\n\
                key k { algorithm hmac-sha256; secret \"QUJD\"; };\n\
                acl trusted { 127.0.0.1; };";
    let entries = parse_key_file(text).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, "k");
    assert_eq!(entries[0].line, 3);
}

#[test]
fn an_empty_or_comment_only_file_has_no_keys() {
    assert!(parse_key_file("").unwrap().is_empty());
    assert!(parse_key_file("# nothing\n/* here */\n")
        .unwrap()
        .is_empty());
}

#[test]
fn reports_a_missing_semicolon_after_the_closing_brace() {
    let error = error_of("key k {\n algorithm hmac-sha256;\n secret \"QUJD\";\n}\n");
    assert_eq!((error.line, error.column), (5, 1));
    assert!(
        error
            .message
            .contains("`;` after the `}` that closes key \"k\""),
        "{error}"
    );
    assert!(error.message.contains("the end of the file"), "{error}");
}

#[test]
fn reports_a_missing_semicolon_after_the_secret_without_quoting_it() {
    let error = error_of("key k {\n algorithm hmac-sha256;\n secret \"QUJD\"\n};");
    assert_eq!((error.line, error.column), (4, 1));
    assert!(
        error.message.contains("`;` after the secret of key \"k\""),
        "{error}"
    );
}

#[test]
fn refuses_an_unquoted_secret() {
    let error = error_of("key k { algorithm hmac-sha256; secret QUJDREVG; };");
    assert_eq!((error.line, error.column), (1, 39));
    assert!(error.message.contains("quoted base64 string"), "{error}");
    assert!(!error.to_string().contains("QUJDREVG"), "{error}");
}

#[test]
fn refuses_missing_repeated_and_unknown_clauses() {
    let missing = error_of("\nkey k { secret \"QUJD\"; };");
    assert_eq!((missing.line, missing.column), (2, 1));
    assert!(
        missing.message.contains("no `algorithm` clause"),
        "{missing}"
    );
    let no_secret = error_of("key k { algorithm hmac-sha256; };");
    assert!(
        no_secret.message.contains("no `secret` clause"),
        "{no_secret}"
    );
    let repeated = error_of("key k { secret \"QUJD\"; secret \"QUJD\"; };");
    assert_eq!((repeated.line, repeated.column), (1, 24));
    assert!(repeated.message.contains("second `secret`"), "{repeated}");
    let unknown = error_of("key k { algorith hmac-sha256; };");
    assert_eq!((unknown.line, unknown.column), (1, 9));
    assert!(
        unknown.message.contains("only `algorithm` and `secret`"),
        "{unknown}"
    );
}

#[test]
fn refuses_a_key_without_a_name_or_a_block() {
    let error = error_of("key { algorithm hmac-sha256; };");
    assert!(error.message.contains("expected the key name"), "{error}");
    let error = error_of("key \"\" { algorithm hmac-sha256; };");
    assert!(error.message.contains("key name is empty"), "{error}");
    let error = error_of("key k;");
    assert_eq!((error.line, error.column), (1, 6));
    assert!(
        error.message.contains("`{` after the name of key \"k\""),
        "{error}"
    );
}

#[test]
fn reports_unbalanced_braces_in_skipped_statements() {
    let error = error_of("options {\n  allow-query { any; };\n");
    assert_eq!((error.line, error.column), (1, 9));
    assert!(error.message.contains("never closed"), "{error}");
    let error = error_of("zone x { };\n};");
    assert_eq!((error.line, error.column), (2, 1));
    assert!(error.message.contains("unexpected `}`"), "{error}");
    let error = error_of("{ key k; };");
    assert!(error.message.contains("statement name"), "{error}");
}

#[test]
fn a_statement_missing_its_semicolon_does_not_swallow_the_next_key() {
    let error =
        error_of("include \"/etc/other.conf\"\nkey k { algorithm hmac-sha256; secret \"QUJD\"; };");
    assert_eq!((error.line, error.column), (1, 1));
    assert!(error.message.contains("line 2"), "{error}");
}

#[test]
fn reports_an_unterminated_secret_string_where_it_opens() {
    let error = error_of("key k {\n  algorithm hmac-sha256;\n  secret \"QUJD;\n};\n");
    assert_eq!((error.line, error.column), (3, 10));
    assert!(error.message.contains("not closed"), "{error}");
    assert_eq!(
        error.to_string(),
        format!("line 3, column 10: {}", error.message)
    );
}

#[test]
fn debug_of_entries_hides_the_secret() {
    let entries = parse_key_file(TSIG_KEYGEN).unwrap();
    let debug = format!("{entries:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(!debug.contains("AevIgbGF"), "{debug}");
}

#[test]
fn debug_of_entries_hides_an_algorithm_that_may_be_a_secret() {
    let entries =
        parse_key_file("key k { algorithm \"c3dhcHBlZA==\"; secret \"hmac-sha256\"; };").unwrap();
    let debug = format!("{entries:?}");
    assert!(!debug.contains("c3dhcHBl"), "{debug}");
    assert!(debug.contains("not an algorithm name"), "{debug}");
    assert!(looks_like_algorithm_name("HMAC-MD5.SIG-ALG.REG.INT"));
    assert!(!looks_like_algorithm_name("c3dhcHBlZA=="));
}
