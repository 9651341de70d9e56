export default function NotFound() {
  return (
    <main className="page" id="main">
      <h1>Page not found</h1>
      <p className="lead">There is no page at this address.</p>
      <a className="button primary" href="/">
        Go to the overview
      </a>
    </main>
  );
}
