// Waiting for the page that a click asks for, on proof and not on timing.
//
// A click on a submit button returns before the browser has the next page (Chromium may not even
// have started the form submission yet), and page.waitForLoadState('load') returns at once while
// the old page is still shown, since that page's own load event has fired already: reading
// page.url() or the page's text after either may read the old page, and does so more often the
// slower the server answers (an ASan build's password hash).
//
// clickToPage(page, click) sets up, before the click, waits for the main frame's document
// response (the last one of any redirects) and for the commit of a new document in the main
// frame, runs click(), then waits for that new document's load event. It returns the response,
// so the caller can check the status and URL of the page it got; it works for a page at the
// same URL as the old one too (a form shown again with an error, the locked interstitial that
// POST /login renders in place), which page.waitForURL cannot tell from the old page.
export async function clickToPage(page, click, { timeout = 30000 } = {}) {
    const main = page.mainFrame();
    const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().isNavigationRequest() && r.frame() === main &&
                                    !(r.status() >= 300 && r.status() < 400), { timeout }),
        page.waitForEvent('framenavigated', { predicate: (f) => f === main, timeout }),
        click(),
    ]);
    // The commit of the new document cleared the old one's load states (playwright-core fires
    // its "remove" before the navigation event), so this waits for the new document.
    await page.waitForLoadState('load', { timeout });
    return response;
}
