// Clerk's hosted sign-in, only when GET /api/config names a publishable key
// (NORVALT_CLERK_PUBLISHABLE_KEY).  clerk-js comes from npm and is bundled
// (a separate chunk, loaded only here); nothing is fetched from a CDN by us,
// though Clerk's components talk to the instance's Frontend API, which the
// nginx Content-Security-Policy must then allow (README, "Sign-in").
// Clerk session tokens live about a minute: every API call asks Clerk for a
// fresh one (the token provider handed to signIn).
export async function clerkSignIn(publishableKey, mountEl, onToken) {
  const { Clerk } = await import('@clerk/clerk-js');
  const clerk = new Clerk(publishableKey);
  await clerk.load();
  const provider = async () => (clerk.session ? await clerk.session.getToken() : null);
  const done = async () => {
    const tok = await provider();
    if (tok) onToken(tok, provider);
  };
  if (clerk.session) return done();
  clerk.mountSignIn(mountEl, {});
  clerk.addListener(({ session }) => { if (session) done(); });
  return undefined;
}
