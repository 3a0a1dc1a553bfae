//! The generated authorization test (issue 12, item 7).
//!
//! Two organisations are seeded over GraphQL with a unique canary string (`canary-<n>-<what>`) in
//! every text the API lets one set: names, titles, emails, payment methods and references,
//! document links, webhook URLs, key names, statement files and lines. Each canary records who
//! may see it as (organisation, read permission, [`Owner`]); whether a principal may see it is
//! asked of [`Holder::admits`] and nothing else, so the test holds no second copy of the rules.
//!
//! The queries are generated from the schema's introspection: from every root (`viewer`,
//! `organization`, `node` for every seeded id of both organisations, `statement`, `analytics`
//! by every dimension, `rosterOverview`) every path up to [`HOPS`] object hops, every scalar
//! selected at each level, run as every principal (owner, admin, manager, viewer, the artist
//! member of A, one API key per scope, an anonymous caller and the owner of the other
//! organisation). A canary in the data that the principal may not see is a leak; so is an
//! object of a label-only type (audit entries, invitations, keys, webhooks, statements) that
//! the principal may not read, and any answer about another organisation's object.
//!
//! Every mutation of the schema must be in [`MUTATIONS`]; each is called by every principal
//! with generated inputs on the first organisation's objects (allowed or refused exactly as
//! the table says) and on the second's (refused exactly like a well-formed id that does not
//! exist). Destructive mutations act on throwaway objects, replaced once one is used up.
//!
//! Names shown beside figures (a co-payee's name on a split, a featured artist's name on a
//! track, the names on analytics rows) are the one documented exception: a name canary may
//! appear in the fields listed in [`NAME_BESIDE_FIGURES`] to anyone of its organisation who
//! reached them; through an object (`SplitShare.payee.name`) it is a leak like any other.
//! Two more exceptions, also by construction rather than by rule: a principal sees their own
//! account (their email and name, a key its own name, on `viewer`), and everyone of an
//! organisation sees its name (`Owner::Everyone` with no permission).
//!
//! Each root is first asked for its bare `__typename`: a root refused there is refused
//! whatever is selected below it, so only roots that answer are asked for their whole tree.
//! Requests stay under the API's depth (12), complexity (5000) and parse-cache (16 KiB) limits;
//! an error on a non-null field nulls its parent, so the field is dropped and its piece asked
//! again, until nothing that answers is hidden by another field's refusal.
//!
//! The failure message is the checklist, one line per finding: `LEAK principal | Type.field |
//! canary = what [org, permission, owner] | via the shortest path (+n more paths)`, `MUTATION`
//! for a cell allowed or refused against the table, `EXISTENCE` for mutations that answer
//! another organisation's object unlike a missing one, and `PROBLEM` for requests the
//! generator got wrong. Every (principal, path, field, canary) is written to
//! `$TMPDIR/generated_access_<backend>.txt`.
//!
//! Run: `cargo test -p tests --test api generated_access -- --nocapture` (with
//! `IMPRINT_TEST_DATABASE_URL` and `IMPRINT_TEST_REDIS_URL` set, on PostgreSQL too).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use api::graphql::ids;
use domain::auth::{Holder, MUTATIONS, Owner, Permission, Role, Scope, mutation_permission};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use tests::{TestApp, decode_id};

/// Object hops from a root's object (an object whose fields are all scalars or such objects,
/// like `Money`, costs none).
const HOPS: usize = 4;
/// The API's query depth limit: no generated selection goes deeper.
const MAX_DEPTH: usize = 12;
/// The API's complexity limit is 5000; a request stays under this.
const BUDGET: usize = 4000;
/// The API keeps the parse of queries up to 16 KiB, by their text: requests stay under it,
/// so that principals sending the same request (most do) parse it once.
const TEXT_BUDGET: usize = 16 * 1024;
/// Roots are split into pieces of at most this complexity, to fit [`TEXT_BUDGET`].
const PIECE: usize = 1800;
/// Requests in flight at once while querying.
const CONCURRENCY: usize = 4;

/// `(Type.field)` where the lead's design shows a name beside a figure (or a credit) to whoever
/// sees the figure: a name canary found in one of these fields is not a leak.
const NAME_BESIDE_FIGURES: &[&str] = &[
    "SplitShare.payeeName",
    "TrackArtist.name",
    "TrackArtist.artistName",
    "AnalyticsRow.artistName",
    "AnalyticsRow.releaseTitle",
    "AnalyticsRow.trackTitle",
    "ArtistSummary.artistName",
];

/// `(Type.field)` that carry, by design, a copy of what an event told a webhook: whoever may
/// manage webhooks may receive every event (by pointing a webhook at herself), so the
/// payloads of past deliveries show her nothing more; any canary in them is not a leak.
const EVENT_PAYLOADS: &[&str] = &["WebhookDelivery.payload"];

/// Types that are the label's alone, with the permission that reads them: such an object
/// returned to a principal who may not read it is a leak even where it carries no canary.
const LABEL_TYPES: &[(&str, Permission)] = &[
    ("AuditEntry", Permission::ManageMembers),
    ("Invitation", Permission::ManageMembers),
    ("ApiKey", Permission::ManageMembers),
    ("Webhook", Permission::ManageWebhooks),
    ("WebhookDelivery", Permission::ManageWebhooks),
    ("Statement", Permission::ReadStatements),
    ("StatementLine", Permission::ReadStatements),
    ("StatementError", Permission::ReadStatements),
    ("ImportTemplate", Permission::ReadStatements),
    ("MoneySummary", Permission::ReadMoney),
];

/// Mutations whose allowed call uses up their target, which is then replaced by a new
/// throwaway object; and the target's type.
const CONSUMING: &[(&str, &str)] = &[
    ("removeMember", "Member"),
    ("revokeApiKey", "ApiKey"),
    ("deleteWebhook", "Webhook"),
    ("artistLeaves", "Artist"),
];
/// Mutations that act on the throwaway object of a type rather than a seeded one.
const ON_THROWAWAY: &[(&str, &str)] = &[
    ("removeMember", "Member"),
    ("changeMemberRole", "Member"),
    ("revokeApiKey", "ApiKey"),
    ("deleteWebhook", "Webhook"),
    ("updateWebhook", "Webhook"),
    ("rotateWebhookSecret", "Webhook"),
    ("artistLeaves", "Artist"),
];

const PASSWORD: &str = "a long enough password";
const HEADER: &str = "Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)";
const UNMATCHED_ISRC: &str = "QZUNK2500001";

// ---------------------------------------------------------------------------------------------
// The schema, from introspection.

#[derive(Clone, Debug)]
struct Ty {
    name: String,
    non_null: bool,
    list: bool,
    inner_non_null: bool,
}

impl Ty {
    fn parse(v: &Value) -> Self {
        let mut t = v;
        let non_null = t["kind"] == "NON_NULL";
        if non_null {
            t = &t["ofType"];
        }
        let list = t["kind"] == "LIST";
        if list {
            t = &t["ofType"];
        }
        let inner_non_null = t["kind"] == "NON_NULL";
        if inner_non_null {
            t = &t["ofType"];
        }
        Self {
            name: t["name"].as_str().unwrap_or_default().to_owned(),
            non_null,
            list,
            inner_non_null,
        }
    }

    fn render(&self) -> String {
        let mut s = self.name.clone();
        if self.list {
            if self.inner_non_null {
                s.push('!');
            }
            s = format!("[{s}]");
        }
        if self.non_null {
            s.push('!');
        }
        s
    }
}

#[derive(Clone, Debug)]
struct Arg {
    name: String,
    ty: Ty,
    has_default: bool,
}

impl Arg {
    fn parse(v: &Value) -> Self {
        Self {
            name: v["name"].as_str().unwrap_or_default().to_owned(),
            ty: Ty::parse(&v["type"]),
            has_default: !v["defaultValue"].is_null(),
        }
    }
    fn required(&self) -> bool {
        self.ty.non_null && !self.has_default
    }
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    args: Vec<Arg>,
    ty: Ty,
}

#[derive(Clone, Debug, Default)]
struct TypeDef {
    kind: String,
    fields: Vec<Field>,
    inputs: Vec<Arg>,
    enums: Vec<String>,
    possible: Vec<String>,
}

struct Schema {
    types: BTreeMap<String, TypeDef>,
    query: String,
    mutation: String,
}

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name } types { kind name \
    fields(includeDeprecated: true) { name args { name defaultValue type { ...T } } type { ...T } } \
    inputFields { name defaultValue type { ...T } } enumValues(includeDeprecated: true) { name } \
    possibleTypes { name } } } } \
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

impl Schema {
    async fn fetch(app: &TestApp) -> Self {
        let data = app.ok(None, INTROSPECTION, json!({})).await;
        let schema = &data["__schema"];
        let mut types = BTreeMap::new();
        for t in schema["types"].as_array().expect("types") {
            let name = t["name"].as_str().expect("type name").to_owned();
            let list = |key: &str| t[key].as_array().cloned().unwrap_or_default();
            types.insert(
                name,
                TypeDef {
                    kind: t["kind"].as_str().unwrap_or_default().to_owned(),
                    fields: list("fields")
                        .iter()
                        .map(|f| Field {
                            name: f["name"].as_str().unwrap_or_default().to_owned(),
                            args: f["args"]
                                .as_array()
                                .map(|a| a.iter().map(Arg::parse).collect())
                                .unwrap_or_default(),
                            ty: Ty::parse(&f["type"]),
                        })
                        .collect(),
                    inputs: list("inputFields").iter().map(Arg::parse).collect(),
                    enums: list("enumValues")
                        .iter()
                        .filter_map(|e| e["name"].as_str().map(str::to_owned))
                        .collect(),
                    possible: list("possibleTypes")
                        .iter()
                        .filter_map(|e| e["name"].as_str().map(str::to_owned))
                        .collect(),
                },
            );
        }
        Self {
            types,
            query: schema["queryType"]["name"]
                .as_str()
                .expect("query")
                .to_owned(),
            mutation: schema["mutationType"]["name"]
                .as_str()
                .expect("mutation")
                .to_owned(),
        }
    }

    fn def(&self, name: &str) -> &TypeDef {
        self.types
            .get(name)
            .unwrap_or_else(|| panic!("no type {name}"))
    }

    fn kind(&self, name: &str) -> &str {
        self.types.get(name).map_or("", |t| t.kind.as_str())
    }

    fn is_composite(&self, name: &str) -> bool {
        matches!(self.kind(name), "OBJECT" | "INTERFACE")
    }

    fn field(&self, ty: &str, field: &str) -> Option<&Field> {
        self.types
            .get(ty)
            .and_then(|t| t.fields.iter().find(|f| f.name == field))
    }

    /// An object made of scalars and such objects only (`Money`, `PayeeBalance`): selecting it
    /// costs no hop.
    fn is_leaf_object(&self, name: &str, seen: &mut Vec<String>) -> bool {
        if seen.iter().any(|s| s == name) || self.kind(name) != "OBJECT" {
            return false;
        }
        seen.push(name.to_owned());
        let leaf = self.def(name).fields.iter().all(|f| {
            !f.args.iter().any(Arg::required)
                && (!self.is_composite(&f.ty.name) || self.is_leaf_object(&f.ty.name, seen))
        });
        seen.pop();
        leaf
    }

    /// The node type of a connection type.
    fn connection_node(&self, name: &str) -> Option<String> {
        if !name.ends_with("Connection") {
            return None;
        }
        self.field(name, "nodes").map(|f| f.ty.name.clone())
    }

    /// Every object type a query can reach (the types the query test must cover).
    fn query_reachable(&self) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.query.clone()];
        while let Some(t) = stack.pop() {
            let def = self.def(&t);
            let mut next: Vec<String> = def.fields.iter().map(|f| f.ty.name.clone()).collect();
            next.extend(def.possible.iter().cloned());
            for n in next {
                if self.is_composite(&n) && seen.insert(n.clone()) {
                    stack.push(n);
                }
            }
        }
        seen.remove(&self.query);
        seen.into_iter()
            .filter(|t| self.kind(t) == "OBJECT")
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Canaries and principals.

#[derive(Clone, Debug)]
struct Canary {
    text: String,
    what: String,
    org: usize,
    /// The read permission it needs; `None` for what everyone of the organisation sees (its
    /// name): then holding anything in it is enough.
    permission: Option<Permission>,
    owner: Owner,
    /// The principal whose own account it is (their email on `viewer`): they see it.
    own: Option<String>,
    /// A name, which the fields of [`NAME_BESIDE_FIGURES`] may show.
    name: bool,
}

impl Canary {
    fn describe(&self) -> String {
        let owner = match self.owner {
            Owner::Everyone => "Everyone".to_owned(),
            Owner::Label => "Label".to_owned(),
            Owner::Artist(a) => format!("Artist({a})"),
        };
        let permission = self
            .permission
            .map_or_else(|| "any permission".to_owned(), |p| p.to_string());
        format!(
            "{} = {} [org {}, {permission}, {owner}]",
            self.text, self.what, self.org
        )
    }
}

#[derive(Default)]
struct Canaries {
    list: Vec<Canary>,
}

impl Canaries {
    fn add(&mut self, what: &str, org: usize, permission: Permission, owner: Owner) -> String {
        let slug: String = what
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let text = format!("canary-{}-{slug}", self.list.len() + 1);
        self.list.push(Canary {
            text: text.clone(),
            what: what.to_owned(),
            org,
            permission: Some(permission),
            owner,
            own: None,
            name: false,
        });
        text
    }

    /// What every principal of the organisation sees, whatever they hold.
    fn everyone(&mut self, what: &str, org: usize) -> String {
        let text = self.add(what, org, Permission::ReadCatalogue, Owner::Everyone);
        if let Some(c) = self.list.last_mut() {
            c.permission = None;
        }
        text
    }

    fn name(&mut self, what: &str, org: usize, permission: Permission, owner: Owner) -> String {
        let text = self.add(what, org, permission, owner);
        if let Some(c) = self.list.last_mut() {
            c.name = true;
        }
        text
    }

    /// Marks the canary in `text` (an email: the canary before the `@`) as `principal`'s own.
    fn owned_by(&mut self, text: &str, principal: &str) {
        let canary = text.split('@').next().unwrap_or(text);
        if let Some(c) = self.list.iter_mut().find(|c| c.text == canary) {
            c.own = Some(principal.to_owned());
        }
    }

    /// The canaries in `s`, by the number in `canary-<n>-`.
    fn found_in(&self, s: &str) -> Vec<&Canary> {
        let lower = s.to_lowercase();
        let mut out = Vec::new();
        for (i, _) in lower.match_indices("canary-") {
            let digits: String = lower[i + 7..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Some(c) = digits
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|n| self.list.get(n))
                && lower[i..].starts_with(&c.text)
            {
                out.push(c);
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
enum Grant {
    Member { role: Role, artist: Option<i64> },
    Key(Vec<Scope>),
}

#[derive(Clone, Debug)]
struct Principal {
    label: String,
    token: Option<String>,
    /// What the principal holds in organisations 1 and 2.
    grants: [Option<Grant>; 2],
    /// A user's email, to log in again (for `logout`).
    email: Option<String>,
}

impl Principal {
    fn grant(&self, org: usize) -> Option<&Grant> {
        org.checked_sub(1)
            .and_then(|i| self.grants.get(i))
            .and_then(Option::as_ref)
    }

    fn admits(&self, org: usize, permission: Permission, owner: Owner) -> bool {
        match self.grant(org) {
            Some(Grant::Member { role, artist }) => Holder::Member {
                role: *role,
                artist_id: *artist,
            }
            .admits(permission, owner),
            Some(Grant::Key(scopes)) => Holder::Key { scopes }.admits(permission, owner),
            None => false,
        }
    }

    fn may_see(&self, c: &Canary) -> bool {
        c.own.as_deref() == Some(self.label.as_str())
            || match c.permission {
                Some(permission) => self.admits(c.org, permission, c.owner),
                None => self.grant(c.org).is_some(),
            }
    }

    fn is_user(&self) -> bool {
        self.email.is_some()
    }
}

// ---------------------------------------------------------------------------------------------
// The seed.

#[derive(Clone, Debug)]
struct Seeded {
    id: String,
    ty: String,
    org: usize,
    label: String,
}

struct World {
    canaries: Canaries,
    principals: Vec<Principal>,
    seeded: Vec<Seeded>,
    /// Per organisation (index 0 and 1), one target of each type for mutations.
    targets: [BTreeMap<String, String>; 2],
    owners: HashMap<String, Owner>,
    owner_tokens: [String; 2],
    org_ids: [String; 2],
    statement_bytes: Vec<u8>,
    invitation_token: String,
    notes: Vec<String>,
}

impl World {
    fn seed(&mut self, id: &str, org: usize, label: &str) {
        let ty = kind_name(id);
        self.seeded.push(Seeded {
            id: id.to_owned(),
            ty: ty.clone(),
            org,
            label: label.to_owned(),
        });
        self.targets[org - 1]
            .entry(ty)
            .or_insert_with(|| id.to_owned());
    }
}

fn kind_name(id: &str) -> String {
    ids::decode_any(&async_graphql::ID(id.to_owned()))
        .map(|(k, _)| k.name().to_owned())
        .unwrap_or_else(|| panic!("not a global id: {id}"))
}

/// A well-formed id of the same kind as `id` that names no row.
fn missing_like(id: &str) -> String {
    let (kind, _) = ids::decode_any(&async_graphql::ID(id.to_owned())).expect("global id");
    ids::encode(kind, 999_999_999).0
}

fn at(v: &Value, path: &[&str]) -> String {
    let mut x = v;
    for p in path {
        x = match p.parse::<usize>() {
            Ok(i) => &x[i],
            Err(_) => &x[*p],
        };
    }
    x.as_str()
        .unwrap_or_else(|| panic!("no string at {path:?} in {v}"))
        .to_owned()
}

/// Runs a seeding request, failing on GraphQL errors and on user errors.
async fn run(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Value {
    let data = app.ok(token, query, variables).await;
    if let Some(payload) = data.as_object().and_then(|o| o.values().next()) {
        let errors = &payload["userErrors"];
        assert!(
            errors.is_null() || errors == &json!([]),
            "seeding {query}: {data}"
        );
    }
    data
}

const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { token userErrors { field message code } } }";
const CREATE_ORG: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { field message code } } }";
const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invitation { id } invitationToken userErrors { field message code } } }";
const ACCEPT: &str = "mutation($t: String!) { acceptInvitation(input: {token: $t}) { member { id } userErrors { field message code } } }";
const CREATE_ARTIST: &str = "mutation($input: CreateArtistInput!) { createArtist(input: $input) { artist { id payees { id } profiles { id } } userErrors { field message code } } }";
const UPDATE_PAYEE: &str = "mutation($input: UpdatePayeeInput!) { updatePayee(input: $input) { payee { id } userErrors { field message code } } }";
const CREATE_PAYEE: &str = "mutation($input: CreatePayeeInput!) { createPayee(input: $input) { payee { id } userErrors { field message code } } }";
const CREATE_AGREEMENT: &str = "mutation($input: CreateAgreementInput!) { createAgreement(input: $input) { agreement { id } userErrors { field message code } } }";
const CREATE_RELEASE: &str = "mutation($input: CreateReleaseInput!) { createRelease(input: $input) { release { id } userErrors { field message code } } }";
const ADD_TRACK: &str = "mutation($input: AddTrackInput!) { addTrack(input: $input) { track { id } userErrors { field message code } } }";
const SET_SPLIT: &str = "mutation($input: SetSplitInput!) { setSplit(input: $input) { split { id shares { id } } userErrors { field message code } } }";
const CREATE_WEBHOOK: &str = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } userErrors { field message code } } }";
const ADD_RECOUPABLE: &str = "mutation($input: AddRecoupableInput!) { addRecoupable(input: $input) { recoupables { id } userErrors { field message code } } }";
const CREATE_KEY: &str = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret userErrors { field message code } } }";
const CREATE_TEMPLATE: &str = "mutation($input: CreateImportTemplateInput!) { createImportTemplate(input: $input) { importTemplate { id } userErrors { field message code } } }";
const CREATE_RUN: &str = "mutation($input: CreatePayoutRunInput!) { createPayoutRun(input: $input) { payoutRun { id } userErrors { field message code } } }";
const APPROVE_RUN: &str = "mutation($input: PayoutRunInput!) { approvePayoutRun(input: $input) { payoutRun { id } userErrors { field message code } } }";
const PAY_RUN: &str = "mutation($input: MarkPayoutRunPaidInput!) { markPayoutRunPaid(input: $input) { payoutRun { id status } userErrors { field message code } } }";
const RUN: &str = "query($id: ID!) { node(id: $id) { ... on PayoutRun { status payouts(first: 50) { nodes { id status payee { id } } } } } }";
const STATEMENT: &str = "query($id: ID!) { statement(id: $id) { status allocationStatus } }";
const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on Webhook { deliveries(first: 50) { nodes { id } } } } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token userErrors { field message code } } }";

async fn sign_up(app: &TestApp, email: &str, name: &str) -> String {
    let data = run(
        app,
        None,
        SIGN_UP,
        json!({"input": {"email": email, "name": name, "password": PASSWORD}}),
    )
    .await;
    at(&data, &["signUp", "token"])
}

/// Invites, signs up and accepts; returns (token, member id).
async fn join(
    app: &TestApp,
    owner: &str,
    org: &str,
    email: &str,
    name: &str,
    role: &str,
    artist: Option<&str>,
) -> (String, String) {
    let data = run(
        app,
        Some(owner),
        INVITE,
        json!({"input": {"organizationId": org, "email": email, "role": role, "artistId": artist}}),
    )
    .await;
    let invitation = at(&data, &["inviteMember", "invitationToken"]);
    let token = sign_up(app, email, name).await;
    let data = run(app, Some(&token), ACCEPT, json!({"t": invitation})).await;
    (token, at(&data, &["acceptInvitation", "member", "id"]))
}

async fn upload(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
    file_path: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Value {
    let operations = json!({ "query": query, "variables": variables });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": [file_path] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()),
        );
    let mut request = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .multipart(form);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("upload sent")
        .json()
        .await
        .expect("JSON response")
}

const UPLOAD: &str = "mutation($input: UploadStatementInput!) { uploadStatement(input: $input) { statement { id } userErrors { field message code } } }";

/// Records a remittance paying `statement`, its sender and reference canaries; returns its id.
async fn remit(
    app: &TestApp,
    owner: &str,
    org: &str,
    statement: &str,
    c: &mut Canaries,
    n: usize,
) -> String {
    let from_whom = c.add(
        &format!("org {n} remittance sender"),
        n,
        Permission::ReadStatements,
        Owner::Label,
    );
    let reference = c.add(
        &format!("org {n} remittance reference"),
        n,
        Permission::ReadStatements,
        Owner::Label,
    );
    let data = run(
        app,
        Some(owner),
        "mutation($input: RecordRemittanceInput!) { recordRemittance(input: $input) { remittance { id } userErrors { field message } } }",
        json!({"input": {"organizationId": org, "amount": "10.00", "currency": "USD", "receivedOn": "2025-02-01", "fromWhom": from_whom, "reference": reference, "statementIds": [statement]}}),
    )
    .await;
    data["recordRemittance"]["remittance"]["id"]
        .as_str()
        .expect("remittance")
        .to_owned()
}

/// Uploads a statement and waits until it is parsed and allocated; returns its id.
async fn statement(
    app: &TestApp,
    token: &str,
    org: &str,
    filename: &str,
    source: &str,
    bytes: Vec<u8>,
) -> String {
    let data = upload(
        app,
        token,
        UPLOAD,
        json!({"input": {"organizationId": org, "file": null, "source": source}}),
        "variables.input.file",
        filename,
        bytes,
    )
    .await;
    let id = at(&data, &["data", "uploadStatement", "statement", "id"]);
    app.eventually(Duration::from_secs(60), || async {
        let data = app.ok(Some(token), STATEMENT, json!({"id": id})).await;
        let st = &data["statement"];
        assert_ne!(st["status"], "FAILED", "statement failed: {data}");
        (st["status"] == "PARSED" && st["allocationStatus"] == "ALLOCATED").then_some(())
    })
    .await;
    id
}

/// Creates a payout run and waits until it is ready; returns its id and its payouts
/// (id, status, payee id).
async fn ready_run(
    app: &TestApp,
    token: &str,
    org: &str,
    period_end: &str,
) -> (String, Vec<(String, String, String)>) {
    let data = run(
        app,
        Some(token),
        CREATE_RUN,
        json!({"input": {"organizationId": org, "periodEnd": period_end}}),
    )
    .await;
    let id = at(&data, &["createPayoutRun", "payoutRun", "id"]);
    let node = app
        .eventually(Duration::from_secs(60), || async {
            let data = app.ok(Some(token), RUN, json!({"id": id})).await;
            assert_ne!(data["node"]["status"], "FAILED", "run failed: {data}");
            (data["node"]["status"] == "READY").then(|| data["node"].clone())
        })
        .await;
    let payouts = node["payouts"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| (at(p, &["id"]), at(p, &["status"]), at(p, &["payee", "id"])))
        .collect();
    (id, payouts)
}

fn statement_file(lines: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut out = format!("{HEADER}\r\n");
    for (artist, title, isrc, amount) in lines {
        out.push_str(&format!(
            "2025-02-28\t2025-01\tSpotify\t{artist}\t{title}\t{isrc}\t\t10\t100\tSong\tUS\t0\t{amount}\r\n"
        ));
    }
    out.into_bytes()
}

/// The API's name of a scope (`read:catalogue` → `READ_CATALOGUE`).
fn scope_enum(scope: Scope) -> String {
    scope.as_str().to_uppercase().replace(':', "_")
}

#[expect(clippy::too_many_lines, reason = "one seed, read top to bottom")]
async fn seed(app: &TestApp, schema: &Schema) -> World {
    use Permission as P;
    let mut c = Canaries::default();
    let mut world = World {
        canaries: Canaries::default(),
        principals: Vec::new(),
        seeded: Vec::new(),
        targets: [BTreeMap::new(), BTreeMap::new()],
        owners: HashMap::new(),
        owner_tokens: [String::new(), String::new()],
        org_ids: [String::new(), String::new()],
        statement_bytes: Vec::new(),
        invitation_token: String::new(),
        notes: Vec::new(),
    };

    // Organisation 1: the owner, the organisation, three artists.
    let owner_email = format!(
        "{}@imprint.test",
        c.add("owner email", 1, P::ReadPersonal, Owner::Label)
    );
    let owner_name = c.add("owner user name", 1, P::ReadCatalogue, Owner::Label);
    c.owned_by(&owner_email, "OWNER");
    c.owned_by(&owner_name, "OWNER");
    let owner = sign_up(app, &owner_email, &owner_name).await;
    let org_name = c.everyone("org 1 name", 1);
    let data = run(
        app,
        Some(&owner),
        CREATE_ORG,
        json!({"input": {"name": org_name, "kind": "LABEL", "baseCurrency": "USD"}}),
    )
    .await;
    let org = at(&data, &["createOrganization", "organization", "id"]);
    world.seed(&org, 1, "org 1");
    world.owners.insert(org.clone(), Owner::Label);

    let mut artists = Vec::new(); // (label, id, row, payee)
    for label in ["A", "B", "F"] {
        // The row id is known only once the artist exists: its canaries are registered with a
        // placeholder owner and fixed just after.
        let name = c.name(
            &format!("artist {label} name"),
            1,
            P::ReadCatalogue,
            Owner::Label,
        );
        let sort = c.add(
            &format!("artist {label} sort name"),
            1,
            P::ReadCatalogue,
            Owner::Label,
        );
        let external = c.add(
            &format!("artist {label} profile id"),
            1,
            P::ReadCatalogue,
            Owner::Label,
        );
        let url = c.add(
            &format!("artist {label} profile url"),
            1,
            P::ReadCatalogue,
            Owner::Label,
        );
        let data = run(app, Some(&owner), CREATE_ARTIST, json!({"input": {"organizationId": org, "name": name, "sortName": sort, "profiles": [{"store": "SPOTIFY", "externalId": external, "url": format!("https://open.spotify.test/{url}")}]}})).await;
        let id = at(&data, &["createArtist", "artist", "id"]);
        let payee = at(&data, &["createArtist", "artist", "payees", "0", "id"]);
        let row = decode_id(&id);
        let profile = at(&data, &["createArtist", "artist", "profiles", "0", "id"]);
        world.seed(&profile, 1, &format!("artist {label} spotify profile"));
        world.owners.insert(profile, Owner::Artist(row));
        for text in [&name, &sort, &external, &url] {
            if let Some(x) = c.list.iter_mut().find(|x| &x.text == text) {
                x.owner = Owner::Artist(row);
            }
        }
        let payee_name = c.name(
            &format!("payee {label} name"),
            1,
            P::ReadCatalogue,
            Owner::Artist(row),
        );
        let email = format!(
            "{}@imprint.test",
            c.add(
                &format!("payee {label} email"),
                1,
                P::ReadPersonal,
                Owner::Artist(row)
            )
        );
        let method = c.add(
            &format!("payee {label} payout method"),
            1,
            P::ReadPersonal,
            Owner::Artist(row),
        );
        run(app, Some(&owner), UPDATE_PAYEE, json!({"input": {"payeeId": payee, "name": payee_name, "email": email, "payoutMethod": method}})).await;
        world.seed(&id, 1, &format!("artist {label}"));
        world.seed(&payee, 1, &format!("payee {label}"));
        world.owners.insert(id.clone(), Owner::Artist(row));
        world.owners.insert(payee.clone(), Owner::Artist(row));
        artists.push((label, id, row, payee));
    }
    let (a_id, a_row, a_payee) = (artists[0].1.clone(), artists[0].2, artists[0].3.clone());
    let (b_id, b_row, b_payee) = (artists[1].1.clone(), artists[1].2, artists[1].3.clone());
    let f_id = artists[2].1.clone();

    let producer_name = c.name("producer payee name", 1, P::ReadCatalogue, Owner::Label);
    let producer_email = format!(
        "{}@imprint.test",
        c.add("producer payee email", 1, P::ReadPersonal, Owner::Label)
    );
    let producer_method = c.add(
        "producer payee payout method",
        1,
        P::ReadPersonal,
        Owner::Label,
    );
    let data = run(app, Some(&owner), CREATE_PAYEE, json!({"input": {"organizationId": org, "name": producer_name, "email": producer_email, "kind": "PRODUCER", "payoutMethod": producer_method}})).await;
    let producer = at(&data, &["createPayee", "payee", "id"]);
    world.seed(&producer, 1, "producer payee");
    world.owners.insert(producer.clone(), Owner::Label);

    let mut releases = Vec::new();
    for (label, id, row, _) in [&artists[0], &artists[1]] {
        let owner_of = Owner::Artist(*row);
        let title = c.add(
            &format!("agreement {label} title"),
            1,
            P::ReadCatalogue,
            owner_of,
        );
        let doc = c.add(
            &format!("agreement {label} document url"),
            1,
            P::ReadCatalogue,
            owner_of,
        );
        let data = run(app, Some(&owner), CREATE_AGREEMENT, json!({"input": {"artistId": id, "title": title, "masterOwner": "LABEL", "artistRevenueShare": "50", "dealBasis": "GROSS", "startsOn": "2024-01-01", "documentUrl": format!("https://docs.test/{doc}")}})).await;
        let agreement = at(&data, &["createAgreement", "agreement", "id"]);
        world.seed(&agreement, 1, &format!("agreement {label}"));
        world.owners.insert(agreement, owner_of);
        let title = c.name(
            &format!("release {label} title"),
            1,
            P::ReadCatalogue,
            owner_of,
        );
        let label_name = c.add(
            &format!("release {label} label name"),
            1,
            P::ReadCatalogue,
            owner_of,
        );
        let data = run(app, Some(&owner), CREATE_RELEASE, json!({"input": {"artistId": id, "title": title, "releaseType": "SINGLE", "labelName": label_name}})).await;
        let release = at(&data, &["createRelease", "release", "id"]);
        world.seed(&release, 1, &format!("release {label}"));
        world.owners.insert(release.clone(), owner_of);
        let title = c.name(
            &format!("track {label} title"),
            1,
            P::ReadCatalogue,
            owner_of,
        );
        let isrc = if *label == "A" {
            "QZCAN2500001"
        } else {
            "QZCAN2500002"
        };
        let mut credits = vec![json!({"artistId": id, "role": "PRIMARY"})];
        if *label == "A" {
            credits.push(json!({"artistId": f_id, "role": "FEATURED"}));
        }
        let data = run(app, Some(&owner), ADD_TRACK, json!({"input": {"releaseId": release, "title": title, "isrc": isrc, "artists": credits}})).await;
        let track = at(&data, &["addTrack", "track", "id"]);
        world.seed(&track, 1, &format!("track {label}"));
        world.owners.insert(track, owner_of);
        releases.push(release);
    }
    let data = run(app, Some(&owner), SET_SPLIT, json!({"input": {"releaseId": releases[0], "effectiveFrom": "2024-01-01", "shares": [
        {"payeeId": a_payee, "share": "50"}, {"payeeId": producer, "share": "25"}, {"payeeId": b_payee, "share": "25"}]}})).await;
    let split = at(&data, &["setSplit", "split", "id"]);
    world.seed(&split, 1, "split of release A");
    world.owners.insert(split, Owner::Artist(a_row));
    let share = at(&data, &["setSplit", "split", "shares", "0", "id"]);
    world.seed(&share, 1, "a share of release A's split");
    world.owners.insert(share, Owner::Artist(a_row));
    let data = run(app, Some(&owner), SET_SPLIT, json!({"input": {"releaseId": releases[1], "effectiveFrom": "2024-01-01", "shares": [{"payeeId": b_payee, "share": "100"}]}})).await;
    let split = at(&data, &["setSplit", "split", "id"]);
    world.seed(&split, 1, "split of release B");
    world.owners.insert(split, Owner::Artist(b_row));

    // F's own release has no split: its sales are left unallocated, for `allocationIssues`.
    let f_row = artists[2].2;
    let title = c.name("release F title", 1, P::ReadCatalogue, Owner::Artist(f_row));
    let data = run(
        app,
        Some(&owner),
        CREATE_RELEASE,
        json!({"input": {"artistId": f_id, "title": title, "releaseType": "SINGLE"}}),
    )
    .await;
    let release = at(&data, &["createRelease", "release", "id"]);
    world.seed(&release, 1, "release F (no split)");
    world.owners.insert(release.clone(), Owner::Artist(f_row));
    let title = c.name("track F title", 1, P::ReadCatalogue, Owner::Artist(f_row));
    let data = run(
        app,
        Some(&owner),
        ADD_TRACK,
        json!({"input": {"releaseId": release, "title": title, "isrc": "QZCAN2500003"}}),
    )
    .await;
    let track = at(&data, &["addTrack", "track", "id"]);
    world.seed(&track, 1, "track F");
    world.owners.insert(track, Owner::Artist(f_row));

    // Label objects.
    let url = c.add("webhook 1 url", 1, P::ManageWebhooks, Owner::Label);
    let description = c.add("webhook 1 description", 1, P::ManageWebhooks, Owner::Label);
    let data = run(app, Some(&owner), CREATE_WEBHOOK, json!({"input": {"organizationId": org, "url": format!("http://127.0.0.1:9/{url}"), "events": ["STATEMENT_PARSED", "PAYOUT_RUN_UPDATED"], "description": description}})).await;
    let webhook = at(&data, &["createWebhook", "webhook", "id"]);
    world.seed(&webhook, 1, "webhook 1");
    // Only an artist payee recoups costs.
    for (who, artist, row) in [("A", &a_id, a_row), ("B", &b_id, b_row)] {
        let owner_of = Owner::Artist(row);
        let description = c.add(
            &format!("recoupable {who} description"),
            1,
            P::ReadMoney,
            owner_of,
        );
        let data = run(app, Some(&owner), ADD_RECOUPABLE, json!({"input": {"organizationId": org, "kind": "EXPENSE", "description": description, "amount": "1.00", "incurredOn": "2024-06-01", "artistId": artist}})).await;
        let id = at(&data, &["addRecoupable", "recoupables", "0", "id"]);
        world.seed(&id, 1, &format!("recoupable {who}"));
        world.owners.insert(id, owner_of);
    }
    let template = c.add("import template name", 1, P::ReadStatements, Owner::Label);
    run(app, Some(&owner), CREATE_TEMPLATE, json!({"input": {"organizationId": org, "name": template, "mapping": {"amount": "Net", "isrc": "ISRC"}}})).await;

    // Members and a pending invitation.
    let mut principals = vec![Principal {
        label: "OWNER".to_owned(),
        token: Some(owner.clone()),
        grants: [
            Some(Grant::Member {
                role: Role::Owner,
                artist: None,
            }),
            None,
        ],
        email: Some(owner_email.clone()),
    }];
    for (label, role, artist) in [
        ("ADMIN", Role::Admin, None),
        ("MANAGER", Role::Manager, None),
        ("VIEWER", Role::Viewer, None),
        ("ARTIST", Role::Artist, Some((a_id.clone(), a_row))),
    ] {
        let owner_of = artist
            .as_ref()
            .map_or(Owner::Label, |(_, row)| Owner::Artist(*row));
        let email = format!(
            "{}@imprint.test",
            c.add(&format!("{label} email"), 1, P::ReadPersonal, owner_of)
        );
        let name = c.add(&format!("{label} user name"), 1, P::ReadCatalogue, owner_of);
        c.owned_by(&email, label);
        c.owned_by(&name, label);
        let (token, member) = join(
            app,
            &owner,
            &org,
            &email,
            &name,
            role.as_str().to_uppercase().as_str(),
            artist.as_ref().map(|(id, _)| id.as_str()),
        )
        .await;
        world.seed(&member, 1, &format!("member {label}"));
        world.owners.insert(member, owner_of);
        principals.push(Principal {
            label: label.to_owned(),
            token: Some(token),
            grants: [
                Some(Grant::Member {
                    role,
                    artist: artist.map(|(_, row)| row),
                }),
                None,
            ],
            email: Some(email),
        });
    }
    let pending = format!(
        "{}@imprint.test",
        c.add(
            "pending invitation email",
            1,
            P::ManageMembers,
            Owner::Label
        )
    );
    let data = run(
        app,
        Some(&owner),
        INVITE,
        json!({"input": {"organizationId": org, "email": pending, "role": "VIEWER"}}),
    )
    .await;
    world.invitation_token = at(&data, &["inviteMember", "invitationToken"]);
    world.seed(
        &at(&data, &["inviteMember", "invitation", "id"]),
        1,
        "pending invitation",
    );

    // One key per scope the API knows.
    let known: Vec<String> = schema
        .types
        .get("ApiScope")
        .map(|t| t.enums.clone())
        .unwrap_or_default();
    for scope in Scope::ALL {
        let word = scope_enum(*scope);
        if !known.contains(&word) {
            world.notes.push(format!(
                "scope {scope} skipped: the API's ApiScope has no {word}"
            ));
            continue;
        }
        let label = format!("KEY {scope}");
        let name = c.add(
            &format!("api key {scope} name"),
            1,
            P::ManageMembers,
            Owner::Label,
        );
        c.owned_by(&name, &label);
        let data = run(
            app,
            Some(&owner),
            CREATE_KEY,
            json!({"input": {"organizationId": org, "name": name, "scopes": [word]}}),
        )
        .await;
        world.seed(
            &at(&data, &["createApiKey", "apiKey", "id"]),
            1,
            &format!("api key {scope}"),
        );
        principals.push(Principal {
            label,
            token: Some(at(&data, &["createApiKey", "secret"])),
            grants: [Some(Grant::Key(vec![*scope])), None],
            email: None,
        });
    }

    // Statements, allocation, a paid run and an open one.
    let filename = c.add("statement 1 filename", 1, P::ReadStatements, Owner::Label);
    let source = c.add("statement 1 source", 1, P::ReadStatements, Owner::Label);
    let line_artist = c.add("statement line artist", 1, P::ReadStatements, Owner::Label);
    let line_a = c.add("statement line A title", 1, P::ReadStatements, Owner::Label);
    let line_b = c.add("statement line B title", 1, P::ReadStatements, Owner::Label);
    let line_unmatched = c.add(
        "statement unmatched line title",
        1,
        P::ReadStatements,
        Owner::Label,
    );
    let line_bad = c.add("statement bad line", 1, P::ReadStatements, Owner::Label);
    let line_f = c.add("statement line F title", 1, P::ReadStatements, Owner::Label);
    let bytes = statement_file(&[
        (&line_artist, &line_a, "QZCAN2500001", "12.50"),
        (&line_artist, &line_b, "QZCAN2500002", "8.00"),
        (&line_artist, &line_unmatched, UNMATCHED_ISRC, "1.00"),
        (&line_artist, &line_bad, "QZCAN2500001", "not-a-number"),
        (&line_artist, &line_f, "QZCAN2500003", "2.00"),
    ]);
    world.statement_bytes.clone_from(&bytes);
    let st = statement(
        app,
        &owner,
        &org,
        &format!("{filename}.tsv"),
        &source,
        bytes,
    )
    .await;
    world.seed(&st, 1, "statement 1");
    let remittance = remit(app, &owner, &org, &st, &mut c, 1).await;
    world.seed(&remittance, 1, "remittance 1");
    let (run_id, payouts) = ready_run(app, &owner, &org, "2025-01-31").await;
    run(
        app,
        Some(&owner),
        APPROVE_RUN,
        json!({"input": {"payoutRunId": run_id}}),
    )
    .await;
    let mut payments = Vec::new();
    for (payout, status, payee) in &payouts {
        world.seed(payout, 1, "payout of run 1");
        let owner_of = world.owners.get(payee).copied().unwrap_or(Owner::Label);
        world.owners.insert(payout.clone(), owner_of);
        if status == "PENDING" {
            let reference = c.add("payment reference", 1, P::ReadMoney, owner_of);
            payments.push(json!({"payeeId": payee, "paymentReference": reference}));
        }
    }
    let data = run(
        app,
        Some(&owner),
        PAY_RUN,
        json!({"input": {"payoutRunId": run_id, "payments": payments}}),
    )
    .await;
    assert_eq!(
        data["markPayoutRunPaid"]["payoutRun"]["status"], "PAID",
        "{data}"
    );
    world.seed(&run_id, 1, "payout run 1 (paid)");
    let (open_run, payouts) = ready_run(app, &owner, &org, "2025-02-28").await;
    world.targets[0].insert("PayoutRun".to_owned(), open_run.clone());
    world.seed(&open_run, 1, "payout run 2 (ready)");
    for (payout, _, payee) in &payouts {
        world.seed(payout, 1, "payout of run 2");
        world.owners.insert(
            payout.clone(),
            world.owners.get(payee).copied().unwrap_or(Owner::Label),
        );
    }
    let delivery = deliveries(app, &owner, &webhook).await;
    world.seed(&delivery, 1, "webhook 1 delivery");

    // Organisation 2, with one of everything, as its owner.
    let email2 = format!(
        "{}@imprint.test",
        c.add("org 2 owner email", 2, P::ReadPersonal, Owner::Label)
    );
    let name2 = c.add("org 2 owner user name", 2, P::ReadCatalogue, Owner::Label);
    c.owned_by(&email2, "ORG2 OWNER");
    c.owned_by(&name2, "ORG2 OWNER");
    let owner2 = sign_up(app, &email2, &name2).await;
    let org2_name = c.everyone("org 2 name", 2);
    let data = run(
        app,
        Some(&owner2),
        CREATE_ORG,
        json!({"input": {"name": org2_name, "kind": "LABEL", "baseCurrency": "USD"}}),
    )
    .await;
    let org2 = at(&data, &["createOrganization", "organization", "id"]);
    world.seed(&org2, 2, "org 2");
    let x_name = c.name("org 2 artist name", 2, P::ReadCatalogue, Owner::Label);
    let data = run(
        app,
        Some(&owner2),
        CREATE_ARTIST,
        json!({"input": {"organizationId": org2, "name": x_name, "profiles": [{"store": "DEEZER"}]}}),
    )
    .await;
    let x = at(&data, &["createArtist", "artist", "id"]);
    let x_payee = at(&data, &["createArtist", "artist", "payees", "0", "id"]);
    let x_row = decode_id(&x);
    let x_profile = at(&data, &["createArtist", "artist", "profiles", "0", "id"]);
    world.seed(&x_profile, 2, "org 2 artist profile");
    if let Some(canary) = c.list.iter_mut().find(|k| k.text == x_name) {
        canary.owner = Owner::Artist(x_row);
    }
    let x_owner = Owner::Artist(x_row);
    world.seed(&x, 2, "org 2 artist");
    world.seed(&x_payee, 2, "org 2 payee");
    let payee_name = c.name("org 2 payee name", 2, P::ReadCatalogue, x_owner);
    let email = format!(
        "{}@imprint.test",
        c.add("org 2 payee email", 2, P::ReadPersonal, x_owner)
    );
    let method = c.add("org 2 payee payout method", 2, P::ReadPersonal, x_owner);
    run(app, Some(&owner2), UPDATE_PAYEE, json!({"input": {"payeeId": x_payee, "name": payee_name, "email": email, "payoutMethod": method}})).await;
    let title = c.add("org 2 agreement title", 2, P::ReadCatalogue, x_owner);
    let data = run(app, Some(&owner2), CREATE_AGREEMENT, json!({"input": {"artistId": x, "title": title, "masterOwner": "LABEL", "artistRevenueShare": "50", "dealBasis": "GROSS", "startsOn": "2024-01-01"}})).await;
    world.seed(
        &at(&data, &["createAgreement", "agreement", "id"]),
        2,
        "org 2 agreement",
    );
    let title = c.name("org 2 release title", 2, P::ReadCatalogue, x_owner);
    let data = run(
        app,
        Some(&owner2),
        CREATE_RELEASE,
        json!({"input": {"artistId": x, "title": title, "releaseType": "SINGLE"}}),
    )
    .await;
    let release2 = at(&data, &["createRelease", "release", "id"]);
    world.seed(&release2, 2, "org 2 release");
    let title = c.name("org 2 track title", 2, P::ReadCatalogue, x_owner);
    let data = run(
        app,
        Some(&owner2),
        ADD_TRACK,
        json!({"input": {"releaseId": release2, "title": title, "isrc": "QZCAN2500009"}}),
    )
    .await;
    world.seed(&at(&data, &["addTrack", "track", "id"]), 2, "org 2 track");
    let data = run(app, Some(&owner2), SET_SPLIT, json!({"input": {"releaseId": release2, "effectiveFrom": "2024-01-01", "shares": [{"payeeId": x_payee, "share": "100"}]}})).await;
    world.seed(&at(&data, &["setSplit", "split", "id"]), 2, "org 2 split");
    world.seed(
        &at(&data, &["setSplit", "split", "shares", "0", "id"]),
        2,
        "org 2 split share",
    );
    let url = c.add("org 2 webhook url", 2, P::ManageWebhooks, Owner::Label);
    let data = run(app, Some(&owner2), CREATE_WEBHOOK, json!({"input": {"organizationId": org2, "url": format!("http://127.0.0.1:9/{url}"), "events": ["STATEMENT_PARSED"]}})).await;
    let webhook2 = at(&data, &["createWebhook", "webhook", "id"]);
    world.seed(&webhook2, 2, "org 2 webhook");
    let description = c.add("org 2 recoupable description", 2, P::ReadMoney, x_owner);
    let data = run(app, Some(&owner2), ADD_RECOUPABLE, json!({"input": {"organizationId": org2, "kind": "EXPENSE", "description": description, "amount": "1.00", "incurredOn": "2024-06-01", "artistId": x}})).await;
    world.seed(
        &at(&data, &["addRecoupable", "recoupables", "0", "id"]),
        2,
        "org 2 recoupable",
    );
    let key_name = c.add("org 2 api key name", 2, P::ManageMembers, Owner::Label);
    let data = run(
        app,
        Some(&owner2),
        CREATE_KEY,
        json!({"input": {"organizationId": org2, "name": key_name, "scopes": ["READ_CATALOGUE"]}}),
    )
    .await;
    world.seed(
        &at(&data, &["createApiKey", "apiKey", "id"]),
        2,
        "org 2 api key",
    );
    let pending2 = format!(
        "{}@imprint.test",
        c.add("org 2 invitation email", 2, P::ManageMembers, Owner::Label)
    );
    let data = run(
        app,
        Some(&owner2),
        INVITE,
        json!({"input": {"organizationId": org2, "email": pending2, "role": "VIEWER"}}),
    )
    .await;
    world.seed(
        &at(&data, &["inviteMember", "invitation", "id"]),
        2,
        "org 2 invitation",
    );
    let members = app
        .ok(
            Some(&owner2),
            "query($id: ID!) { organization(id: $id) { members(first: 5) { nodes { id } } } }",
            json!({"id": org2}),
        )
        .await;
    world.seed(
        &at(&members, &["organization", "members", "nodes", "0", "id"]),
        2,
        "org 2 owner member",
    );
    let filename = c.add(
        "org 2 statement filename",
        2,
        P::ReadStatements,
        Owner::Label,
    );
    let line = c.add(
        "org 2 statement line title",
        2,
        P::ReadStatements,
        Owner::Label,
    );
    let bytes = statement_file(&[("X", &line, "QZCAN2500009", "4.00")]);
    let st2 = statement(
        app,
        &owner2,
        &org2,
        &format!("{filename}.tsv"),
        "distributor",
        bytes,
    )
    .await;
    world.seed(&st2, 2, "org 2 statement");
    let remittance2 = remit(app, &owner2, &org2, &st2, &mut c, 2).await;
    world.seed(&remittance2, 2, "org 2 remittance");
    let (run2, payouts) = ready_run(app, &owner2, &org2, "2025-01-31").await;
    world.seed(&run2, 2, "org 2 payout run (ready)");
    for (payout, _, _) in &payouts {
        world.seed(payout, 2, "org 2 payout");
    }
    let delivery2 = deliveries(app, &owner2, &webhook2).await;
    world.seed(&delivery2, 2, "org 2 webhook delivery");

    principals.push(Principal {
        label: "ANONYMOUS".to_owned(),
        token: None,
        grants: [None, None],
        email: None,
    });
    principals.push(Principal {
        label: "ORG2 OWNER".to_owned(),
        token: Some(owner2.clone()),
        grants: [
            None,
            Some(Grant::Member {
                role: Role::Owner,
                artist: None,
            }),
        ],
        email: Some(email2),
    });
    world.principals = principals;
    world.owner_tokens = [owner, owner2];
    world.org_ids = [org, org2];
    world.canaries = c;
    world
}

/// The first delivery of a webhook, once the worker has recorded it.
async fn deliveries(app: &TestApp, token: &str, webhook: &str) -> String {
    app.eventually(Duration::from_secs(30), || async {
        let data = app
            .ok(Some(token), DELIVERIES, json!({"id": webhook}))
            .await;
        data["node"]["deliveries"]["nodes"][0]["id"]
            .as_str()
            .map(str::to_owned)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Generated queries.

#[derive(Clone, Debug)]
struct Sel {
    field: String,
    args: String,
    /// The type whose fields the body selects (the node type of a connection, the concrete
    /// type of a `node` root).
    body: String,
    /// A type condition for the body (`node` roots).
    fragment: bool,
    connection: bool,
    non_null: bool,
    scalars: Vec<String>,
    /// Scalars written out rather than through the type's fragment (after one was pruned).
    inline: bool,
    children: Vec<Sel>,
}

impl Sel {
    fn cost(&self) -> usize {
        let own = 2 + self.scalars.len() + if self.connection { 7 } else { 0 };
        own + self.children.iter().map(Sel::cost).sum::<usize>()
    }

    fn paths(&self) -> usize {
        1 + self.children.iter().map(Sel::paths).sum::<usize>()
    }

    /// Writes the selection; its scalars go through a fragment per type (`...s_Artist`),
    /// recorded in `fragments`, which keeps the query text (and its parsing) small.
    fn render(&self, out: &mut String, fragments: &mut BTreeMap<String, Vec<String>>) {
        out.push_str(&self.field);
        out.push_str(&self.args);
        out.push_str(" { ");
        if self.connection {
            out.push_str(
                "__typename totalCount pageInfo { __typename hasNextPage } edges { __typename cursor } nodes { ",
            );
        }
        out.push_str("__typename ");
        if self.fragment {
            // `__typename` again, so that a body pruned to nothing is still a selection.
            out.push_str(&format!("... on {} {{ __typename ", self.body));
        }
        if self.inline {
            for s in &self.scalars {
                out.push_str(s);
                out.push(' ');
            }
        } else {
            out.push_str(&format!("...s_{} ", self.body));
            fragments
                .entry(self.body.clone())
                .or_insert_with(|| self.scalars.clone());
        }
        for c in &self.children {
            c.render(out, fragments);
        }
        if self.fragment {
            out.push_str("} ");
        }
        if self.connection {
            out.push_str("} ");
        }
        out.push_str("} ");
    }

    /// Removes the field at `path` (child fields, then maybe a scalar); whether it was found.
    fn prune(&mut self, path: &[String]) -> bool {
        match path {
            [] => false,
            [last] => {
                let before = self.scalars.len() + self.children.len();
                if self.scalars.contains(last) {
                    // This selection no longer selects its type's every scalar.
                    self.inline = true;
                }
                self.scalars.retain(|s| s != last);
                self.children.retain(|c| &c.field != last);
                before != self.scalars.len() + self.children.len()
            }
            [first, rest @ ..] => self
                .children
                .iter_mut()
                .find(|c| &c.field == first)
                .is_some_and(|c| c.prune(rest)),
        }
    }

    /// Pieces of at most `budget`, each with this selection's scalars and one branch below.
    fn split(&self, budget: usize) -> Vec<Sel> {
        if self.cost() <= budget || self.children.is_empty() {
            return vec![self.clone()];
        }
        let mut base = self.clone();
        base.children.clear();
        let room = budget.saturating_sub(base.cost()).max(1);
        let mut out = Vec::new();
        for child in &self.children {
            for piece in child.split(room) {
                let mut unit = base.clone();
                unit.children = vec![piece];
                out.push(unit);
            }
        }
        out
    }
}

/// The type an id field names: `artistId` → `Artist`, `deliveryId` → `WebhookDelivery`.
fn type_of_id_name(name: &str) -> String {
    let stem = name.trim_end_matches("Ids").trim_end_matches("Id");
    if stem == "delivery" {
        return "WebhookDelivery".to_owned();
    }
    let mut chars = stem.chars();
    chars.next().map_or(String::new(), |c| {
        c.to_uppercase().collect::<String>() + chars.as_str()
    })
}

/// Optional root arguments the generator gives, so that the seeded data is in range:
/// (root, argument, GraphQL literal).
const ROOT_OPTIONAL: &[(&str, &str, &str)] = &[(
    "rosterOverview",
    "period",
    "{from: \"2024-01-01\", to: \"2025-12-31\"}",
)];

/// One way to call a root: (rendered arguments, their labels, the organisation of the answer,
/// the concrete type of the object an id names).
type Variant = (Vec<String>, Vec<String>, usize, Option<String>);

struct Generator<'a> {
    schema: &'a Schema,
}

impl Generator<'_> {
    /// The scalars and object selections of `ty`'s body, whose fields sit at `level`.
    fn body(&self, ty: &str, hops: usize, level: usize) -> (Vec<String>, Vec<Sel>) {
        let mut scalars = Vec::new();
        let mut children = Vec::new();
        let Some(def) = self.schema.types.get(ty) else {
            return (scalars, children);
        };
        for f in &def.fields {
            if f.args.iter().any(Arg::required) {
                continue;
            }
            if !self.schema.is_composite(&f.ty.name) {
                scalars.push(f.name.clone());
            } else if self.schema.kind(&f.ty.name) == "OBJECT"
                && let Some(sel) = self.child(f, hops, level)
            {
                children.push(sel);
            }
        }
        (scalars, children)
    }

    fn child(&self, f: &Field, hops: usize, level: usize) -> Option<Sel> {
        let node = self.schema.connection_node(&f.ty.name);
        let leaf = node.is_none() && self.schema.is_leaf_object(&f.ty.name, &mut Vec::new());
        let cost = usize::from(!leaf);
        if cost > hops {
            return None;
        }
        let body_level = level + if node.is_some() { 2 } else { 1 };
        if body_level > MAX_DEPTH {
            return None;
        }
        let body = node.clone().unwrap_or_else(|| f.ty.name.clone());
        let (scalars, children) = self.body(&body, hops - cost, body_level);
        let args = if f.args.iter().any(|a| a.name == "first") {
            "(first: 50)".to_owned()
        } else {
            String::new()
        };
        Some(Sel {
            field: f.name.clone(),
            args,
            body,
            fragment: false,
            connection: node.is_some(),
            non_null: f.ty.non_null,
            scalars,
            inline: false,
            children,
        })
    }

    /// Every root of the query type with the argument values the seed gives it:
    /// (label, organisation of the answer (0: the caller's own), selection).
    fn roots(&self, world: &World) -> Vec<(String, usize, Sel)> {
        let mut out = Vec::new();
        for f in &self.schema.def(&self.schema.query).fields {
            // Each required argument's candidate values: (rendered, label, organisation).
            let mut variants: Vec<Variant> = vec![(Vec::new(), Vec::new(), 0, None)];
            for arg in f.args.iter().filter(|a| a.required()) {
                let values = self.arg_values(f, arg, world);
                assert!(
                    !values.is_empty(),
                    "no value for the required argument {} of Query.{}: teach the generator",
                    arg.name,
                    f.name
                );
                let mut next = Vec::new();
                for (args, labels, org, ty) in &variants {
                    for (value, label, vorg, vty) in &values {
                        let mut args = args.clone();
                        args.push(format!("{}: {value}", arg.name));
                        let mut labels = labels.clone();
                        labels.push(label.clone());
                        next.push((
                            args,
                            labels,
                            if *vorg > 0 { *vorg } else { *org },
                            vty.clone().or_else(|| ty.clone()),
                        ));
                    }
                }
                variants = next;
            }
            // Filters by id are where a scoped caller might reach what is not hers: the first
            // variant of each organisation is also asked with each optional `xIds` filter
            // (`analytics(filter: {artistIds: [B]})`) for every seeded X of that organisation.
            let mut filtered = Vec::new();
            for arg in f.args.iter().filter(|a| !a.required()) {
                if self.schema.kind(&arg.ty.name) != "INPUT_OBJECT" {
                    continue;
                }
                for input in &self.schema.def(&arg.ty.name).inputs {
                    if input.ty.name != "ID" || !input.ty.list {
                        continue;
                    }
                    let wanted = type_of_id_name(input.name.trim_end_matches('s'));
                    for org in [1, 2] {
                        let Some((args, labels, _, concrete)) =
                            variants.iter().find(|v| v.2 == org).cloned()
                        else {
                            continue;
                        };
                        for seeded in world
                            .seeded
                            .iter()
                            .filter(|x| x.ty == wanted && x.org == org)
                        {
                            let mut args = args.clone();
                            args.push(format!(
                                "{}: {{{}: [\"{}\"]}}",
                                arg.name, input.name, seeded.id
                            ));
                            let mut labels = labels.clone();
                            labels.push(format!("{}: {}", input.name, seeded.label));
                            filtered.push((args, labels, org, concrete.clone()));
                        }
                    }
                }
            }
            variants.extend(filtered);
            for (mut args, labels, org, concrete) in variants {
                for (_, arg, value) in ROOT_OPTIONAL.iter().filter(|(root, _, _)| *root == f.name) {
                    args.push(format!("{arg}: {value}"));
                }
                let rendered = if args.is_empty() {
                    String::new()
                } else {
                    format!("({})", args.join(", "))
                };
                let label = format!("{}({})", f.name, labels.join(", "));
                let interface = self.schema.kind(&f.ty.name) == "INTERFACE";
                let body = match (&concrete, interface) {
                    (Some(t), true) if self.schema.def(&f.ty.name).possible.contains(t) => {
                        t.clone()
                    }
                    _ => f.ty.name.clone(),
                };
                let fragment = interface && body != f.ty.name;
                let connection = self.schema.connection_node(&f.ty.name);
                let body = connection.clone().unwrap_or(body);
                let (scalars, children) = self.body(&body, HOPS, 2);
                let root = Sel {
                    field: f.name.clone(),
                    args: rendered,
                    body,
                    fragment,
                    connection: connection.is_some(),
                    non_null: f.ty.non_null,
                    scalars,
                    inline: false,
                    children,
                };
                // And each of its lists that takes an optional id filter
                // (`organization { releases(artistId: B) }`), once per seeded object of that type.
                // (Not again under `node`, which reaches the same object.)
                if !root.connection && !interface {
                    out.extend(self.filtered_children(&root, &label, org, world));
                }
                out.push((label, org, root));
            }
        }
        out
    }

    /// Copies of `root` with just one of its fields that take an optional id argument, given
    /// each seeded id of that type.
    fn filtered_children(
        &self,
        root: &Sel,
        label: &str,
        org: usize,
        world: &World,
    ) -> Vec<(String, usize, Sel)> {
        let mut out = Vec::new();
        let Some(def) = self.schema.types.get(&root.body) else {
            return out;
        };
        for g in &def.fields {
            for arg in g.args.iter().filter(|a| {
                !a.required() && a.ty.name == "ID" && !a.ty.list && a.name.ends_with("Id")
            }) {
                let wanted = type_of_id_name(&arg.name);
                for seeded in world.seeded.iter().filter(|x| x.ty == wanted) {
                    let Some(mut child) = self.child(g, HOPS, 2) else {
                        continue;
                    };
                    let first = if g.args.iter().any(|a| a.name == "first") {
                        "first: 50, "
                    } else {
                        ""
                    };
                    child.args = format!("({first}{}: \"{}\")", arg.name, seeded.id);
                    let mut copy = root.clone();
                    copy.scalars.clear();
                    copy.inline = true;
                    copy.children = vec![child];
                    out.push((
                        format!("{label}.{}({}: {})", g.name, arg.name, seeded.label),
                        org,
                        copy,
                    ));
                }
            }
        }
        out
    }

    /// Values for a required root argument: (GraphQL literal, label, organisation, concrete
    /// type of the object it names).
    fn arg_values(
        &self,
        f: &Field,
        arg: &Arg,
        world: &World,
    ) -> Vec<(String, String, usize, Option<String>)> {
        let kind = self.schema.kind(&arg.ty.name);
        if arg.ty.name == "ID" {
            let wanted = if arg.name == "id" {
                f.ty.name.clone()
            } else {
                type_of_id_name(&arg.name)
            };
            let interface = self.schema.kind(&wanted) == "INTERFACE";
            return world
                .seeded
                .iter()
                .filter(|s| interface || s.ty == wanted)
                .map(|s| {
                    (
                        format!("\"{}\"", s.id),
                        format!("{} {}", s.ty, s.label),
                        s.org,
                        Some(s.ty.clone()),
                    )
                })
                .collect();
        }
        if kind == "ENUM" {
            return self
                .schema
                .def(&arg.ty.name)
                .enums
                .iter()
                .map(|v| {
                    let literal = if arg.ty.list {
                        format!("[{v}]")
                    } else {
                        v.clone()
                    };
                    (literal, v.clone(), 0, None)
                })
                .collect();
        }
        Vec::new()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Leak {
    principal: String,
    field: String,
    canary: String,
    path: String,
}

struct Unit {
    label: String,
    org: usize,
    sel: Sel,
    attempt: usize,
}

struct QueryReport {
    leaks: BTreeSet<Leak>,
    problems: BTreeSet<String>,
    returned: BTreeSet<String>,
    requests: usize,
    /// Time spent waiting for answers (summed over requests in flight) and reading them.
    waited: Duration,
    scanned: Duration,
}

/// Walks an answer, reporting canaries and label-only objects the principal may not see.
#[expect(
    clippy::too_many_arguments,
    reason = "a recursive walk and its context"
)]
fn scan(
    schema: &Schema,
    world: &World,
    p: &Principal,
    org: usize,
    v: &Value,
    ty: &str,
    path: &str,
    report: &mut QueryReport,
) {
    match v {
        Value::Array(items) => {
            for item in items {
                scan(schema, world, p, org, item, ty, path, report);
            }
        }
        Value::Object(map) => {
            let concrete = map
                .get("__typename")
                .and_then(Value::as_str)
                .unwrap_or(ty)
                .to_owned();
            if p.label == "OWNER" {
                report.returned.insert(concrete.clone());
            }
            // A payee's own audit entries (`Payee.history`) are its history, shown to whoever
            // may read its personal details (the payee object itself was checked above it, and
            // the canaries in each entry's before and after are checked below).
            let payee_history = concrete == "AuditEntry" && path.contains(".history.");
            if org > 0
                && !payee_history
                && let Some((_, permission)) = LABEL_TYPES.iter().find(|(t, _)| *t == concrete)
                && !p.admits(org, *permission, Owner::Label)
            {
                report.leaks.insert(Leak {
                    principal: p.label.clone(),
                    field: concrete.clone(),
                    canary: format!("<a {concrete} object> [org {org}, {permission}, Label]"),
                    path: path.to_owned(),
                });
            }
            for (key, value) in map {
                if key == "__typename" || value.is_null() {
                    continue;
                }
                let Some(field) = schema.field(&concrete, key) else {
                    continue;
                };
                let here = format!("{path}.{key}");
                if schema.is_composite(&field.ty.name) {
                    scan(schema, world, p, org, value, &field.ty.name, &here, report);
                } else {
                    let text = value.to_string();
                    let at_field = format!("{concrete}.{key}");
                    for c in world.canaries.found_in(&text) {
                        let beside = c.name
                            && NAME_BESIDE_FIGURES.contains(&at_field.as_str())
                            && p.grant(c.org).is_some();
                        if !p.may_see(c) && !beside && !EVENT_PAYLOADS.contains(&at_field.as_str())
                        {
                            report.leaks.insert(Leak {
                                principal: p.label.clone(),
                                field: at_field.clone(),
                                canary: c.describe(),
                                path: here.clone(),
                            });
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The selection an error's path names, as field names from the unit's root (list indices
/// and connection `nodes` left out).
fn error_fields(sel: &Sel, path: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = Some(sel);
    for step in path.iter().skip(1) {
        let Some(name) = step.as_str() else { continue };
        let Some(s) = current else { break };
        if s.connection && (name == "nodes" || name == "edges" || name == "pageInfo") {
            continue;
        }
        out.push(name.to_owned());
        current = s.children.iter().find(|c| c.field == name);
    }
    out
}

/// Whether the field an error names is non-null, so that its error nulled its parent too.
fn propagates(schema: &Schema, sel: &Sel, fields: &[String]) -> bool {
    let mut s = sel;
    for (i, name) in fields.iter().enumerate() {
        if let Some(child) = s.children.iter().find(|c| &c.field == name) {
            if i + 1 == fields.len() {
                return child.non_null;
            }
            s = child;
        } else {
            return schema.field(&s.body, name).is_some_and(|f| f.ty.non_null);
        }
    }
    false
}

/// One request: the selections aliased `u0`, `u1`… and the fragments they use.
fn render_batch(sels: &[&Sel]) -> String {
    let mut query = String::from("{ ");
    let mut fragments = BTreeMap::new();
    for (i, sel) in sels.iter().enumerate() {
        query.push_str(&format!("u{i}: "));
        sel.render(&mut query, &mut fragments);
    }
    query.push('}');
    for (ty, scalars) in fragments {
        query.push_str(&format!(
            " fragment s_{ty} on {ty} {{ __typename {} }}",
            scalars.join(" ")
        ));
    }
    query
}

/// Which roots answer the principal at all: a root refused (or null) for a bare `__typename`
/// is refused whatever is selected below it, so its paths need no second asking.
async fn probe(app: &TestApp, p: &Principal, roots: &[(String, usize, Sel)]) -> Vec<bool> {
    let token = p.token.as_deref();
    let mut live = vec![false; roots.len()];
    let mut shared = String::from("{ ");
    for (i, (_, _, sel)) in roots.iter().enumerate() {
        let field = format!("r{i}: {}{} {{ __typename }} ", sel.field, sel.args);
        if sel.non_null {
            // Alone: its refusal nulls the whole answer.
            let response = app
                .graphql(token, &format!("{{ {field}}}"), json!({}))
                .await;
            live[i] = !response["data"][format!("r{i}")].is_null();
        } else {
            shared.push_str(&field);
        }
    }
    shared.push('}');
    let response = app.graphql(token, &shared, json!({})).await;
    for (i, (_, _, sel)) in roots.iter().enumerate() {
        if !sel.non_null {
            live[i] = !response["data"][format!("r{i}")].is_null();
        }
    }
    live
}

async fn query_as(
    app: &TestApp,
    schema: &Schema,
    world: &World,
    p: &Principal,
    roots: &[(String, usize, Sel)],
    report: &mut QueryReport,
) {
    let live = probe(app, p, roots).await;
    report.requests += roots.iter().filter(|(_, _, s)| s.non_null).count() + 1;
    let mut pending: Vec<Unit> = roots
        .iter()
        .zip(live)
        .filter(|(_, live)| *live)
        .map(|(root, _)| root)
        .flat_map(|(label, org, sel)| {
            sel.split(PIECE).into_iter().map(|piece| Unit {
                label: label.clone(),
                org: *org,
                sel: piece,
                attempt: 0,
            })
        })
        .collect();
    while !pending.is_empty() {
        // Batches: nullable roots share a request; a non-null root's refusal nulls all the
        // data, so it goes alone.
        let mut batches: Vec<Vec<Unit>> = Vec::new();
        let mut current: Vec<Unit> = Vec::new();
        let mut cost = 0;
        for unit in pending.drain(..) {
            let c = unit.sel.cost();
            if unit.sel.non_null {
                batches.push(vec![unit]);
                continue;
            }
            if !current.is_empty() {
                let mut sels: Vec<&Sel> = current.iter().map(|u| &u.sel).collect();
                sels.push(&unit.sel);
                if cost + c > BUDGET || render_batch(&sels).len() > TEXT_BUDGET {
                    batches.push(std::mem::take(&mut current));
                    cost = 0;
                }
            }
            cost += c;
            current.push(unit);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        let token = p.token.clone();
        let answers: Vec<(Vec<Unit>, Value, Duration)> = futures::stream::iter(batches)
            .map(|batch| {
                let token = token.clone();
                async move {
                    let query = render_batch(&batch.iter().map(|u| &u.sel).collect::<Vec<_>>());
                    let sent = Instant::now();
                    let response = app.graphql(token.as_deref(), &query, json!({})).await;
                    (batch, response, sent.elapsed())
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (batch, response, took) in answers {
            report.requests += 1;
            report.waited += took;
            let scanning = Instant::now();
            let errors = response["errors"].as_array().cloned().unwrap_or_default();
            // A request whose every root is refused answers `data: null`; only an error
            // without a path (the request itself refused) is a problem.
            if response["data"].is_null()
                && errors
                    .iter()
                    .any(|e| e["path"].as_array().is_none_or(Vec::is_empty))
            {
                report.problems.insert(format!(
                    "{}: a request of {} roots failed whole: {}",
                    p.label,
                    batch.len(),
                    compact(&errors.first().cloned().unwrap_or_default())
                ));
                continue;
            }
            for (i, mut unit) in batch.into_iter().enumerate() {
                let alias = format!("u{i}");
                let data = &response["data"][&alias];
                if unit.org > 0 && p.grant(unit.org).is_none() && !data.is_null() {
                    report.leaks.insert(Leak {
                        principal: p.label.clone(),
                        field: format!("Query.{}", unit.sel.field),
                        canary: format!("<an answer about organisation {}>", unit.org),
                        path: unit.label.clone(),
                    });
                }
                scan(
                    schema,
                    world,
                    p,
                    unit.org,
                    data,
                    &unit.sel.body,
                    &unit.label,
                    report,
                );
                let mut retry = false;
                for error in &errors {
                    let Some(path) = error["path"].as_array() else {
                        report.problems.insert(format!(
                            "{}: {} answered an error without a path: {error}",
                            p.label, unit.label
                        ));
                        continue;
                    };
                    if path.first().and_then(Value::as_str) != Some(alias.as_str()) {
                        continue;
                    }
                    let fields = error_fields(&unit.sel, path);
                    if !fields.is_empty()
                        && propagates(schema, &unit.sel, &fields)
                        && unit.sel.prune(&fields)
                    {
                        retry = true;
                    }
                }
                if retry && unit.attempt < 8 {
                    unit.attempt += 1;
                    pending.push(unit);
                }
            }
            report.scanned += scanning.elapsed();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generated mutations.

/// The value a generated input gives a field: ids by the field's name, the rest by name and
/// type, valid enough that only authorization can refuse it.
#[expect(clippy::too_many_arguments, reason = "the generator's context")]
fn input_value(
    schema: &Schema,
    ty: &Ty,
    field: &str,
    targets: &BTreeMap<String, String>,
    world: &World,
    n: usize,
    path: &str,
    uploads: &mut Vec<String>,
) -> Value {
    let single = |v: Value| if ty.list { json!([v]) } else { v };
    if ty.name == "ID" {
        let wanted = type_of_id_name(field);
        return single(
            targets
                .get(&wanted)
                .map_or(Value::Null, |id| Value::String(id.clone())),
        );
    }
    match schema.kind(&ty.name) {
        "INPUT_OBJECT" => single(input_object(
            schema, &ty.name, targets, world, n, path, uploads,
        )),
        "ENUM" => {
            let values = &schema.def(&ty.name).enums;
            let preferred: &[&str] = match field {
                "status" => &["LIVE"],
                "role" => &["VIEWER"],
                "events" => &["STATEMENT_PARSED"],
                "scopes" => &["READ_CATALOGUE"],
                _ => &["OTHER", "EXPENSE", "LABEL", "SINGLE", "EQUAL"],
            };
            let value = preferred
                .iter()
                .find(|p| values.iter().any(|v| v == *p))
                .map_or_else(
                    || values.first().cloned().unwrap_or_default(),
                    |p| (*p).to_owned(),
                );
            single(Value::String(value))
        }
        _ => single(match ty.name.as_str() {
            "Upload" => {
                uploads.push(path.to_owned());
                Value::Null
            }
            "Int" => json!(1),
            "Float" => json!(1.0),
            "Boolean" => json!(false),
            "JSON" => json!({}),
            "NaiveDate" => json!(match field {
                "periodEnd" => "2025-01-31",
                "effectiveFrom" => "2026-01-01",
                _ => "2024-01-01",
            }),
            _ => Value::String(match field {
                "email" => format!("generated-{n}@imprint.test"),
                "password" => "short".to_owned(),
                "token" => world.invitation_token.clone(),
                "url" => "http://127.0.0.1:9/generated".to_owned(),
                "share" => "100".to_owned(),
                "amount" => "1.00".to_owned(),
                "artistRevenueShare" => "50".to_owned(),
                "identifier" => UNMATCHED_ISRC.to_owned(),
                "baseCurrency" | "currency" => "USD".to_owned(),
                _ => format!("generated {n}"),
            }),
        }),
    }
}

/// Optional input fields the generator fills in, because the mutation needs one of them.
const OPTIONAL_FILLED: &[(&str, &str)] = &[
    ("AddRecoupableInput", "artistId"),
    ("ColumnMappingInput", "isrc"),
];

fn input_object(
    schema: &Schema,
    ty: &str,
    targets: &BTreeMap<String, String>,
    world: &World,
    n: usize,
    path: &str,
    uploads: &mut Vec<String>,
) -> Value {
    let mut map = Map::new();
    for f in &schema.def(ty).inputs {
        if f.required() || OPTIONAL_FILLED.contains(&(ty, f.name.as_str())) {
            let here = format!("{path}.{}", f.name);
            map.insert(
                f.name.clone(),
                input_value(schema, &f.ty, &f.name, targets, world, n, &here, uploads),
            );
        }
    }
    Value::Object(map)
}

/// How a mutation call came out: (refused, signature to compare, unexpected error).
fn outcome(response: &Value, name: &str) -> (bool, String, Option<String>) {
    if let Some(error) = response["errors"].as_array().and_then(|e| e.first()) {
        let code = error["extensions"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let refused = matches!(code.as_str(), "FORBIDDEN" | "NOT_FOUND" | "UNAUTHENTICATED");
        let unexpected = (!refused).then(|| format!("error {error}"));
        return (refused, format!("error {code}"), unexpected);
    }
    let payload = &response["data"]["m"];
    let mut codes: Vec<String> = payload["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| format!("{}@{}", e["code"].as_str().unwrap_or(""), e["field"]))
        .collect();
    codes.sort();
    let refused = payload["userErrors"].as_array().is_some_and(|errors| {
        errors.iter().any(|e| {
            // The input's own id field; a nested one (`payments.0.payeeId`) is validation.
            e["code"] == "NOT_FOUND"
                && e["field"].as_array().is_some_and(|f| {
                    f.len() == 1
                        && f[0]
                            .as_str()
                            .is_some_and(|f| f == "id" || f.ends_with("Id"))
                })
        })
    });
    let unexpected = payload
        .is_null()
        .then(|| format!("{name} answered no payload: {response}"));
    (refused, format!("userErrors {codes:?}"), unexpected)
}

struct Mutations {
    cells: usize,
    unasserted: usize,
    /// Account mutations called without an account: (mutation, answer) → principals.
    accountless: BTreeMap<(String, String), Vec<String>>,
    reached: BTreeSet<String>,
    failures: BTreeSet<String>,
    /// Another organisation's object answered unlike a missing one: (principal, whose
    /// objects, answer, a missing id's answer) → mutations.
    unlike_missing: BTreeMap<(String, &'static str, String, String), Vec<String>>,
}

/// Creates a throwaway object of `ty` in organisation `org` (1 or 2) as its owner.
async fn throwaway(app: &TestApp, world: &World, org: usize, ty: &str, n: usize) -> String {
    let token = world.owner_tokens[org - 1].clone();
    let org_id = world.org_ids[org - 1].clone();
    match ty {
        "Member" => {
            join(app, &token, &org_id, &format!("throwaway-{org}-{n}@imprint.test"), "Throwaway", "VIEWER", None)
                .await
                .1
        }
        "ApiKey" => at(
            &run(app, Some(&token), CREATE_KEY, json!({"input": {"organizationId": org_id, "name": format!("throwaway {n}"), "scopes": ["READ_CATALOGUE"]}})).await,
            &["createApiKey", "apiKey", "id"],
        ),
        "Webhook" => at(
            &run(app, Some(&token), CREATE_WEBHOOK, json!({"input": {"organizationId": org_id, "url": "http://127.0.0.1:9/throwaway", "events": ["STATEMENT_PARSED"]}})).await,
            &["createWebhook", "webhook", "id"],
        ),
        "Artist" => at(
            &run(app, Some(&token), CREATE_ARTIST, json!({"input": {"organizationId": org_id, "name": format!("Throwaway {n}"), "createPayee": false}})).await,
            &["createArtist", "artist", "id"],
        ),
        other => panic!("no throwaway {other}"),
    }
}

async fn call(
    app: &TestApp,
    schema: &Schema,
    world: &World,
    f: &Field,
    token: Option<&str>,
    targets: &BTreeMap<String, String>,
    n: usize,
) -> (Value, Value) {
    let mut uploads = Vec::new();
    let mut variables = Map::new();
    let mut declared = Vec::new();
    let mut passed = Vec::new();
    for arg in &f.args {
        if !arg.required() {
            continue;
        }
        let path = format!("variables.{}", arg.name);
        let value = input_value(
            schema,
            &arg.ty,
            &arg.name,
            targets,
            world,
            n,
            &path,
            &mut uploads,
        );
        declared.push(format!("${}: {}", arg.name, arg.ty.render()));
        passed.push(format!("{}: ${}", arg.name, arg.name));
        variables.insert(arg.name.clone(), value);
    }
    let payload = schema.def(&f.ty.name);
    let selection = if payload.fields.iter().any(|x| x.name == "userErrors") {
        "__typename userErrors { field code message }"
    } else {
        "__typename"
    };
    let query = format!(
        "mutation{} {{ m: {}{} {{ {selection} }} }}",
        if declared.is_empty() {
            String::new()
        } else {
            format!("({})", declared.join(", "))
        },
        f.name,
        if passed.is_empty() {
            String::new()
        } else {
            format!("({})", passed.join(", "))
        },
    );
    let input = Value::Object(variables.clone());
    let response = if let Some(path) = uploads.first() {
        upload(
            app,
            token.unwrap_or_default(),
            &query,
            input.clone(),
            path,
            "generated.tsv",
            world.statement_bytes.clone(),
        )
        .await
    } else {
        app.graphql(token, &query, input.clone()).await
    };
    (input, response)
}

fn owner_of(world: &World, input: &Value) -> Owner {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(input, &mut all);
    all.iter()
        .filter_map(|s| world.owners.get(s))
        .find(|o| matches!(o, Owner::Artist(_)))
        .copied()
        .unwrap_or(Owner::Label)
}

#[expect(
    clippy::too_many_lines,
    reason = "one loop over the cells, read top to bottom"
)]
async fn mutate(app: &TestApp, schema: &Schema, world: &World) -> Mutations {
    let mut report = Mutations {
        cells: 0,
        unasserted: 0,
        accountless: BTreeMap::new(),
        reached: BTreeSet::new(),
        failures: BTreeSet::new(),
        unlike_missing: BTreeMap::new(),
    };
    let mut fields = schema.def(&schema.mutation).fields.clone();
    // `logoutEverywhere` ends every session of its caller, the one each principal queries
    // with too: it goes last, when nothing else needs those sessions.
    fields.sort_by_key(|f| f.name == "logoutEverywhere");
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| mutation_permission(&f.name).is_none())
        .map(|f| f.name.as_str())
        .collect();
    for name in &missing {
        report.failures.insert(format!(
            "mutation {name} is not in domain::auth::MUTATIONS: add the permission it needs"
        ));
    }
    let mut slots: [BTreeMap<String, String>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut n = 0;
    for org in 1..=2 {
        for ty in ["Member", "ApiKey", "Webhook", "Artist"] {
            n += 1;
            let id = if org == 2 && ty == "Member" {
                // The other organisation's last owner: removing or demoting it is refused
                // even where a leak lets the call through.
                world.targets[1]["Member"].clone()
            } else {
                throwaway(app, world, org, ty, n).await
            };
            slots[org - 1].insert(ty.to_owned(), id);
        }
    }
    let missing_targets: BTreeMap<String, String> = world.targets[0]
        .iter()
        .map(|(ty, id)| (ty.clone(), missing_like(id)))
        .collect();

    for f in &fields {
        let Some(permission) = mutation_permission(&f.name) else {
            continue;
        };
        let throwaway_ty = ON_THROWAWAY
            .iter()
            .find(|(m, _)| *m == f.name)
            .map(|(_, t)| (*t).to_owned());
        for p in &world.principals {
            n += 1;
            // `logout` and `logoutEverywhere` end the session they are called with: a user calls
            // each with a new one, every time.
            let ends_sessions = matches!(f.name.as_str(), "logout" | "logoutEverywhere");
            let session = || async {
                match &p.email {
                    Some(email) if ends_sessions => {
                        let data = run(
                            app,
                            None,
                            LOGIN,
                            json!({"input": {"email": email, "password": PASSWORD}}),
                        )
                        .await;
                        Some(at(&data, &["login", "token"]))
                    }
                    _ => p.token.clone(),
                }
            };
            let token = session().await;
            let mut targets = [world.targets[0].clone(), world.targets[1].clone()];
            if let Some(ty) = &throwaway_ty {
                for org in 0..2 {
                    targets[org].insert(ty.clone(), slots[org][ty].clone());
                }
            }
            // The first organisation's objects.
            let (input, response) =
                call(app, schema, world, f, token.as_deref(), &targets[0], n).await;
            let (refused, signature, unexpected) = outcome(&response, &f.name);
            report.reached.insert(f.name.clone());
            let cell = format!(
                "{} {} on org 1 {}",
                p.label,
                f.name,
                compact(&readable(world, &input))
            );
            match permission {
                None => {
                    let asserted = matches!(f.name.as_str(), "signUp" | "login") || p.is_user();
                    if asserted {
                        report.cells += 1;
                        if refused || unexpected.is_some() {
                            report.failures.insert(format!(
                                "{cell}: an account mutation, expected allowed, got {signature} {}",
                                unexpected.unwrap_or_default()
                            ));
                        }
                    } else {
                        // A key or an anonymous caller has no account: what they get is shown,
                        // not judged.
                        report.unasserted += 1;
                        report
                            .accountless
                            .entry((f.name.clone(), signature.clone()))
                            .or_default()
                            .push(p.label.clone());
                    }
                }
                Some(permission) => {
                    report.cells += 1;
                    let expected = p.admits(1, permission, owner_of(world, &input));
                    if let Some(problem) = &unexpected {
                        report
                            .failures
                            .insert(format!("{cell}: unexpected {problem}"));
                    } else if expected && refused {
                        report.failures.insert(format!(
                            "{cell}: needs {permission}, which {} holds; refused: {signature}",
                            p.label
                        ));
                    } else if !expected && !refused {
                        report.failures.insert(format!(
                            "{cell}: needs {permission}, which {} lacks; ALLOWED: {signature}",
                            p.label
                        ));
                    }
                    if p.grant(1).is_none() && p.token.is_some() {
                        // Another organisation's member: org 1's objects must look missing.
                        let (_, missing) = call(
                            app,
                            schema,
                            world,
                            f,
                            session().await.as_deref(),
                            &missing_targets,
                            n,
                        )
                        .await;
                        let (_, missing_signature, _) = outcome(&missing, &f.name);
                        if missing_signature != signature {
                            report
                                .unlike_missing
                                .entry((
                                    p.label.clone(),
                                    "org 1",
                                    signature.clone(),
                                    missing_signature,
                                ))
                                .or_default()
                                .push(f.name.clone());
                        }
                    }
                    if !refused && let Some((_, ty)) = CONSUMING.iter().find(|(m, _)| *m == f.name)
                    {
                        n += 1;
                        let fresh = throwaway(app, world, 1, ty, n).await;
                        slots[0].insert((*ty).to_owned(), fresh);
                    }
                }
            }
            // The second organisation's objects, for everyone but its own member: exactly
            // like a missing id.
            if permission.is_some() && p.grant(2).is_none() {
                let (input, response) = call(
                    app,
                    schema,
                    world,
                    f,
                    session().await.as_deref(),
                    &targets[1],
                    n,
                )
                .await;
                let (refused, signature, unexpected) = outcome(&response, &f.name);
                let (_, missing) = call(
                    app,
                    schema,
                    world,
                    f,
                    session().await.as_deref(),
                    &missing_targets,
                    n,
                )
                .await;
                let (_, missing_signature, _) = outcome(&missing, &f.name);
                report.cells += 1;
                let cell = format!(
                    "{} {} on org 2 {}",
                    p.label,
                    f.name,
                    compact(&readable(world, &input))
                );
                if let Some(problem) = unexpected {
                    report
                        .failures
                        .insert(format!("{cell}: unexpected {problem}"));
                } else if !refused {
                    report.failures.insert(format!(
                        "{cell}: another organisation's object, ALLOWED: {signature}"
                    ));
                } else if signature != missing_signature {
                    report
                        .unlike_missing
                        .entry((
                            p.label.clone(),
                            "org 2",
                            signature.clone(),
                            missing_signature,
                        ))
                        .or_default()
                        .push(f.name.clone());
                }
                if !refused && let Some((_, ty)) = CONSUMING.iter().find(|(m, _)| *m == f.name) {
                    n += 1;
                    let fresh = throwaway(app, world, 2, ty, n).await;
                    slots[1].insert((*ty).to_owned(), fresh);
                }
            }
        }
    }
    report
}

/// An input with its ids spelled out (`"Artist:1 (artist A)"`), for messages.
fn readable(world: &World, input: &Value) -> Value {
    match input {
        Value::String(s) => match ids::decode_any(&async_graphql::ID(s.clone())) {
            Some((kind, row)) => {
                let label = world
                    .seeded
                    .iter()
                    .find(|x| &x.id == s)
                    .map_or("throwaway or missing", |x| x.label.as_str());
                Value::String(format!("{}:{row} ({label})", kind.name()))
            }
            None => input.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|x| readable(world, x)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), readable(world, v)))
                .collect(),
        ),
        _ => input.clone(),
    }
}

/// An input for a message, long strings cut.
fn compact(input: &Value) -> String {
    let s = input.to_string();
    if s.len() > 240 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(240).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario.

#[expect(clippy::too_many_lines, reason = "the scenario and its report")]
async fn generated_access(app: TestApp) {
    let started = Instant::now();
    let schema = Schema::fetch(&app).await;
    let world = seed(&app, &schema).await;
    let seeded_in = started.elapsed();

    let generator = Generator { schema: &schema };
    let roots = generator.roots(&world);
    let paths: usize = roots.iter().map(|(_, _, s)| s.paths()).sum();
    // The types the generated selections select: bodies, and a connection's own types.
    let mut generated = BTreeSet::new();
    let mut stack: Vec<&Sel> = roots.iter().map(|(_, _, s)| s).collect();
    while let Some(s) = stack.pop() {
        generated.insert(s.body.clone());
        if s.connection {
            for suffix in ["Connection", "Edge"] {
                generated.insert(format!("{}{suffix}", s.body));
            }
            generated.insert("PageInfo".to_owned());
        }
        stack.extend(s.children.iter());
    }
    let reachable = schema.query_reachable();
    let uncovered: Vec<&String> = reachable
        .iter()
        .filter(|t| !generated.contains(*t))
        .collect();

    let mut report = QueryReport {
        leaks: BTreeSet::new(),
        problems: BTreeSet::new(),
        returned: BTreeSet::new(),
        requests: 0,
        waited: Duration::ZERO,
        scanned: Duration::ZERO,
    };
    for p in &world.principals {
        query_as(&app, &schema, &world, p, &roots, &mut report).await;
    }
    let queried_in = started.elapsed();
    let mutations = mutate(&app, &schema, &world).await;
    let elapsed = started.elapsed();

    let sdl_mutations: BTreeSet<String> = schema
        .def(&schema.mutation)
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let unreached: Vec<&String> = sdl_mutations.difference(&mutations.reached).collect();
    let table_only: Vec<&str> = MUTATIONS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !sdl_mutations.contains(*m))
        .collect();

    // The checklist: each (principal, field, canary) once, with its shortest path and how many
    // other paths reach it.
    let mut grouped: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for leak in &report.leaks {
        grouped
            .entry((
                leak.principal.clone(),
                leak.field.clone(),
                leak.canary.clone(),
            ))
            .or_default()
            .push(leak.path.clone());
    }
    let mut checklist = String::new();
    for ((principal, field, canary), mut paths) in grouped.clone() {
        paths.sort_by_key(|p| (p.len(), p.clone()));
        checklist.push_str(&format!(
            "LEAK {principal} | {field} | {canary} | via {}{}\n",
            paths[0],
            if paths.len() > 1 {
                format!(" (+{} more paths)", paths.len() - 1)
            } else {
                String::new()
            }
        ));
    }
    for failure in &mutations.failures {
        checklist.push_str(&format!("MUTATION {failure}\n"));
    }
    for ((principal, whose, got, missing), names) in &mutations.unlike_missing {
        checklist.push_str(&format!(
            "EXISTENCE {principal} on {whose} objects answers {got}, a missing id {missing}: {}\n",
            names.join(", ")
        ));
    }
    for problem in &report.problems {
        checklist.push_str(&format!("PROBLEM {problem}\n"));
    }
    let full = report
        .leaks
        .iter()
        .map(|l| format!("{} | {} | {} | {}", l.principal, l.path, l.field, l.canary))
        .collect::<Vec<_>>()
        .join("\n");
    let file =
        std::env::temp_dir().join(format!("generated_access_{:?}.txt", app.backend).to_lowercase());
    if let Err(err) = std::fs::write(&file, &full) {
        eprintln!("could not write {}: {err}", file.display());
    }

    let not_returned: Vec<&String> = reachable
        .iter()
        .filter(|t| !report.returned.contains(*t))
        .collect();
    eprintln!("generated_access on {:?}", app.backend);
    for note in &world.notes {
        eprintln!("  note: {note}");
    }
    eprintln!(
        "  {} canaries; {} object types reachable from Query, {} covered by the generated paths, {} returned with data to the owner (not returned: {not_returned:?})",
        world.canaries.list.len(),
        reachable.len(),
        reachable.len() - uncovered.len(),
        reachable.len() - not_returned.len()
    );
    eprintln!(
        "  {} roots, {paths} paths × {} principals = {} path checks in {} requests",
        roots.len(),
        world.principals.len(),
        paths * world.principals.len(),
        report.requests
    );
    eprintln!(
        "  {} of {} mutations reached; {} mutation cells checked ({} account-mutation calls by keys or anonymous not asserted)",
        mutations.reached.len(),
        sdl_mutations.len(),
        mutations.cells,
        mutations.unasserted
    );
    for ((mutation, answer), principals) in &mutations.accountless {
        eprintln!(
            "  not asserted: {mutation} by {} answered {answer}",
            principals.join(", ")
        );
    }
    if !table_only.is_empty() {
        eprintln!("  in MUTATIONS but not in the schema (yet): {table_only:?}");
    }
    eprintln!(
        "  time: seed {:.1} s, queries {:.1} s (answers {:.1} s summed over requests in flight, reading them {:.1} s), mutations {:.1} s, total {:.1} s",
        seeded_in.as_secs_f64(),
        (queried_in - seeded_in).as_secs_f64(),
        report.waited.as_secs_f64(),
        report.scanned.as_secs_f64(),
        (elapsed - queried_in).as_secs_f64(),
        elapsed.as_secs_f64()
    );
    eprintln!(
        "  {} leaks ({} distinct (principal, field, canary)), {} mutation failures, {} groups of mutations answering unlike a missing id, {} problems; every path in {}",
        report.leaks.len(),
        grouped.len(),
        mutations.failures.len(),
        mutations.unlike_missing.len(),
        report.problems.len(),
        file.display()
    );
    eprintln!("{checklist}");

    assert!(
        uncovered.is_empty(),
        "object types no generated path reaches: {uncovered:?}"
    );
    assert!(
        unreached.is_empty(),
        "mutations no cell called: {unreached:?}"
    );
    assert!(
        checklist.is_empty(),
        "{} leaks, {} mutation failures, {} existence differences, {} problems (listed above, one line each)",
        grouped.len(),
        mutations.failures.len(),
        mutations.unlike_missing.len(),
        report.problems.len()
    );
}

/// The app as every test gets it, but with rate limits out of reach: this test sends each of its
/// keys a thousand requests in a minute, which the limits (tested in `limits.rs`) would refuse.
async fn unthrottled(backend: tests::Backend) -> Option<TestApp> {
    TestApp::spawn_configured(backend, true, |config| {
        let l = &mut config.rate_limits;
        l.login_per_account = 1_000_000;
        l.login_per_address = 1_000_000;
        l.sign_up_per_address = 1_000_000;
        l.api_key_per_key = 1_000_000;
        l.bad_tokens_per_address = 1_000_000;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_access_sqlite() {
    let app = unthrottled(tests::Backend::Sqlite)
        .await
        .expect("sqlite app");
    generated_access(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_access_postgres() {
    if let Some(app) = unthrottled(tests::Backend::Postgres).await {
        generated_access(app).await;
    }
}
