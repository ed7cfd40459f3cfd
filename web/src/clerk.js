// Clerk's hosted sign-in and organisation switcher, only when GET /api/config
// names a publishable key (NORVALT_CLERK_PUBLISHABLE_KEY).  clerk-js comes
// from npm and is bundled into its own chunk, loaded only here; Clerk's
// components talk to the instance's Frontend API, which the nginx
// Content-Security-Policy must then allow (README, "Sign-in").
// Clerk session tokens live about a minute: every API call asks Clerk for a
// fresh one (the token provider handed to onToken).  The token's active
// organisation picks the dealership, so switching organisation reloads the
// page, which signs in again through Clerk's own (cookie) session.
let clerk = null;

export async function clerkSignIn(publishableKey, mountEl, onToken) {
  const { Clerk } = await import('@clerk/clerk-js');
  clerk = new Clerk(publishableKey);
  await clerk.load();
  const provider = async () => (clerk.session ? await clerk.session.getToken() : null);
  const done = async () => {
    const tok = await provider();
    if (tok) onToken(tok, provider);
  };
  let org = clerk.organization ? clerk.organization.id : null;
  clerk.addListener((e) => {
    const now = e.organization ? e.organization.id : null;
    if (org !== null && now !== org) location.reload();
    org = now;
  });
  if (clerk.session) return done();
  clerk.mountSignIn(mountEl, {});
  clerk.addListener(({ session }) => { if (session) done(); });
  return undefined;
}

// The organisation switcher in the header (Clerk mode only).
export function mountOrgSwitcher(el) {
  if (!clerk || !el) return () => {};
  clerk.mountOrganizationSwitcher(el, { hidePersonal: true });
  return () => clerk.unmountOrganizationSwitcher(el);
}

export async function clerkSignOut() {
  if (clerk) await clerk.signOut();
}
