/**
 * Entry point of the browser client: takes the one-tab lock on this profile's home, then mounts
 * the app, and registers the offline worker. Everything runs in this page; the only network
 * traffic is to the serving origin.
 */
import { render } from 'preact';
import { App } from './app.tsx';
import { registerOfflineWorker } from './offline.ts';
import './style.css';
import './conversation-extras.css';

const root = document.getElementById('app');
if (root === null) throw new Error('index.html has no #app');
render(<App />, root);
registerOfflineWorker();
