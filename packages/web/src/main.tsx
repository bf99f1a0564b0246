/**
 * Entry point of the browser client: takes the one-tab lock on this profile's home, then mounts
 * the app. Everything runs in this page; the only network traffic is to the serving origin.
 */
import { render } from 'preact';
import { App } from './app.tsx';
import './style.css';

const root = document.getElementById('app');
if (root === null) throw new Error('index.html has no #app');
render(<App />, root);
