//! The README's permission table is `domain::auth`'s, cell for cell: a change to either that
//! is not made to the other fails here, and the message prints the table to paste.

use domain::auth::{Permission, Role, Scope};

/// The table as the README shows it: a row per permission, a column per role and per scope.
fn expected() -> String {
    let mut out = String::from("| permission | what it allows |");
    for role in Role::ALL {
        out.push_str(&format!(" {role} |"));
    }
    for scope in Scope::ALL {
        out.push_str(&format!(" `{scope}` |"));
    }
    out.push('\n');
    out.push_str("| --- | --- |");
    for _ in 0..Role::ALL.len() + Scope::ALL.len() {
        out.push_str(" :-: |");
    }
    out.push('\n');
    let mark = |yes: bool| if yes { " ✓ |" } else { "   |" };
    for permission in Permission::ALL {
        out.push_str(&format!("| `{permission}` | {} |", permission.describe()));
        for role in Role::ALL {
            out.push_str(mark(role.grants(*permission)));
        }
        for scope in Scope::ALL {
            out.push_str(mark(scope.grants(*permission)));
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_readme_shows_the_permission_table_of_domain_auth() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md beside the workspace");
    let table = expected();
    assert!(
        readme.contains(&table),
        "README.md's permission table differs from domain::auth; it should read:\n\n{table}"
    );
}
